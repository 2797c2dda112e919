#!/usr/bin/env python3
"""Synthetic benchmark data sets for the eval library's tests, and their expected results.

For every benchmark kind this writes, under tests/fixtures/bench/<kind>/, a tiny data
set in LLaVA-1.5's own formats (question file, tiny images, ground truth), a hand-made
answers file that hits every rule of the official scoring script, and:

  expected_items.jsonl   what the reader must produce per question: question_id, image
                         (relative to the fixture folder, or null), question (LLaVA's
                         `qs` before the template), prompt (the answers file's "prompt")
  expected.json          the numbers the official script gives on answers.jsonl, plus
                         the names of expected conversion files (expected_*.json[l])

The expected values come from the reference implementations below: plain Python
re-statements of the rules of LLaVA's scripts (model_vqa_loader / model_vqa_science /
model_vqa_mmbench prompts; eval_pope, convert_answer_to_mme + MME calculation,
convert_gqa_for_eval + GQA eval, eval_science_qa, eval_textvqa + m4c_evaluator,
convert_vqav2/vizwiz/seed/mmvet/mmbench_for_submission), evaluated once; the outputs
are committed and CI never runs this script.

    python tests/reference/make_bench_fixtures.py                 # write the fixtures
    python tests/reference/make_bench_fixtures.py --official DIR  # also run LLaVA's own
        scripts (a LLaVA checkout; MME's calculation.py and GQA's eval.py are re-created
        from --mme-calc / --gqa-eval when given) on the fixtures and compare
    python tests/reference/make_bench_fixtures.py unicode src/text/pytext_tables.c

Needs Pillow (tiny PNG/JPEG images); everything else is the standard library.
"""
import base64
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "bench")

SHORT = "\nAnswer the question using a single word or phrase."
OPTION = "\nAnswer with the option's letter from the given choices directly."
OPTION_CN = "\n请直接回答选项字母。"


# ---------------------------------------------------------------- small helpers

def write(path, text, binary=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if binary else "w", encoding=None if binary else "utf-8",
              newline=None if binary else "") as f:
        f.write(text)


def write_jsonl(path, rows):
    write(path, "".join(json.dumps(r) + "\n" for r in rows))


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def image_bytes(color, size=(4, 3), fmt="PNG", mode="RGB"):
    from PIL import Image
    if mode == "P":
        img = Image.new("RGB", size, color).convert("P", palette=Image.ADAPTIVE, colors=4)
    else:
        img = Image.new(mode, size, color if mode != "RGBA" else tuple(color) + (200,))
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def answer_line(qid, prompt, text, extra=None):
    """An answers line in LLaVA's key order (answer_id fixed: not part of any rule)."""
    d = {"question_id": qid}
    if extra and "round_id" in extra:
        d["round_id"] = extra["round_id"]
    d["prompt"] = prompt
    d["text"] = text
    if extra and "options" in extra:
        d["options"] = extra["options"]
        d["option_char"] = extra["option_char"]
    d.update({"answer_id": "fixture", "model_id": "fixture-model", "metadata": {}})
    return d


def jsonl_items(rows, image_dir):
    """model_vqa_loader.py: qs = line["text"], prompt = line["text"]."""
    return [{"question_id": r["question_id"], "image": image_dir + "/" + r["image"],
             "question": r["text"], "prompt": r["text"]} for r in rows]


# ---------------------------------------------------------------- VQA normalisation
# Re-statement of EvalAI's answer processing (m4c_evaluator.EvalAIAnswerProcessor) and of
# the VQA server's (vqaEval.py).

CONTRACTIONS = dict(pair.split(":") for pair in (
    "aint:ain't arent:aren't cant:can't couldve:could've couldnt:couldn't "
    "couldn'tve:couldn't've couldnt've:couldn't've didnt:didn't doesnt:doesn't dont:don't "
    "hadnt:hadn't hadnt've:hadn't've hadn'tve:hadn't've hasnt:hasn't havent:haven't hed:he'd "
    "hed've:he'd've he'dve:he'd've hes:he's howd:how'd howll:how'll hows:how's Id've:I'd've "
    "I'dve:I'd've Im:I'm Ive:I've isnt:isn't itd:it'd itd've:it'd've it'dve:it'd've itll:it'll "
    "let's:let's maam:ma'am mightnt:mightn't mightnt've:mightn't've mightn'tve:mightn't've "
    "mightve:might've mustnt:mustn't mustve:must've neednt:needn't notve:not've oclock:o'clock "
    "oughtnt:oughtn't ow's'at:'ow's'at 'ows'at:'ow's'at 'ow'sat:'ow's'at shant:shan't "
    "shed've:she'd've she'dve:she'd've she's:she's shouldve:should've shouldnt:shouldn't "
    "shouldnt've:shouldn't've shouldn'tve:shouldn't've somebody'd:somebodyd "
    "somebodyd've:somebody'd've somebody'dve:somebody'd've somebodyll:somebody'll "
    "somebodys:somebody's someoned:someone'd someoned've:someone'd've someone'dve:someone'd've "
    "someonell:someone'll someones:someone's somethingd:something'd "
    "somethingd've:something'd've something'dve:something'd've somethingll:something'll "
    "thats:that's thered:there'd thered've:there'd've there'dve:there'd've therere:there're "
    "theres:there's theyd:they'd theyd've:they'd've they'dve:they'd've theyll:they'll "
    "theyre:they're theyve:they've twas:'twas wasnt:wasn't wed've:we'd've we'dve:we'd've "
    "weve:we've werent:weren't whatll:what'll whatre:what're whats:what's whatve:what've "
    "whens:when's whered:where'd wheres:where's whereve:where've whod:who'd whod've:who'd've "
    "who'dve:who'd've wholl:who'll whos:who's whove:who've whyll:why'll whyre:why're whys:why's "
    "wont:won't wouldve:would've wouldnt:wouldn't wouldnt've:wouldn't've "
    "wouldn'tve:wouldn't've yall:y'all yall'll:y'all'll y'allll:y'all'll yall'd've:y'all'd've "
    "y'alld've:y'all'd've y'all'dve:y'all'd've youd:you'd youd've:you'd've you'dve:you'd've "
    "youll:you'll youre:you're youve:you've").split())
NUMBERS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}
NUMBERS["none"] = "0"
PUNCT = [";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`",
         ",", "?", "!"]


def punctuation(text, single_comma):
    comma = re.search(r"\d,\d" if single_comma else r"\d,+\d", text) is not None
    out = text
    for p in PUNCT:
        out = out.replace(p, "" if (p + " " in text or " " + p in text or comma) else " ")
    # periods not followed by a digit, at most 32 (re.UNICODE passed as the count)
    res, removed = [], 0
    for i, ch in enumerate(out):
        if ch == "." and removed < 32 and not (i + 1 < len(out) and re.match(r"\d", out[i + 1])):
            removed += 1
            continue
        res.append(ch)
    return "".join(res)


def digit_article(text):
    words = [NUMBERS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in ("a", "an", "the")]
    return " ".join(CONTRACTIONS.get(w, w) for w in words)


def evalai(ans):
    ans = ans.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()
    ans = ans.replace("\n", " ").replace("\t", " ").strip()
    return digit_article(punctuation(ans, False))


def server_norm(ans):
    ans = ans.replace("\n", " ").replace("\t", " ").strip()
    return digit_article(punctuation(ans, True))


def soft_acc(pred, gts):
    total = 0
    for i in range(len(gts)):
        matches = sum(1 for j in range(len(gts)) if j != i and gts[j] == pred)
        total += min(1, matches / 3)
    return total / len(gts)


# ---------------------------------------------------------------- POPE

def make_pope(d):
    imgs = ["COCO_val2014_000000000042.jpg", "COCO_val2014_000000000073.jpg"]
    for k, name in enumerate(imgs):
        write(os.path.join(d, "val2014", name), image_bytes((200, 40 * k, 90), fmt="JPEG"), True)
    objects = ["dog", "cat", "car", "person", "bus", "cup"]
    # answers chosen to hit each rule; label = ground truth
    plan = {
        "adversarial": [("Yes", "yes"), ("No", "no"), ("No, there is not.", "no"),
                        ("Yes. No dogs though", "yes"), ("There is no cat.", "no"),
                        ("I do not see one", "yes")],
        "popular": [("NO", "no"), ("Nope.", "no"), ("yes, a car", "yes"), ("no,", "no"),
                    ("Yes, there is no bus", "no"), ("Yes.No", "yes")],
        "random": [("not really", "no"), ("Yes", "no"), ("yes", "yes"), ("No\nthere is", "no"),
                   ("There's none.", "no"), ("No. Yes", "yes")],
    }
    questions, answers, qid = [], [], 0
    for cat in ("adversarial", "popular", "random"):
        labels = []
        for k, (text, label) in enumerate(plan[cat]):
            qid += 1
            img = imgs[k % 2]
            q = "Is there a %s in the image?" % objects[k]
            questions.append({"question_id": qid, "image": img, "text": q + SHORT, "category": cat})
            labels.append({"question_id": k + 1, "image": img, "text": q, "label": label})
            answers.append(answer_line(qid, q + SHORT, text))
        write_jsonl(os.path.join(d, "coco", "coco_pope_%s.json" % cat), labels)
    write_jsonl(os.path.join(d, "llava_pope_test.jsonl"), questions)
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)
    write_jsonl(os.path.join(d, "expected_items.jsonl"), jsonl_items(questions, "val2014"))
    return {"scores": pope_score(d)}


def pope_score(d):
    questions = {q["question_id"]: q for q in read_jsonl(os.path.join(d, "llava_pope_test.jsonl"))}
    answers = read_jsonl(os.path.join(d, "answers.jsonl"))
    cats = {}
    f1s = []
    for cat in ("adversarial", "popular", "random"):
        labels = [1 if r["label"] != "no" else 0 for r in read_jsonl(os.path.join(d, "coco", "coco_pope_%s.json" % cat))]
        preds = []
        for a in answers:
            if questions[a["question_id"]]["category"] != cat:
                continue
            text = a["text"].split(".")[0] if "." in a["text"] else a["text"]
            words = text.replace(",", "").split(" ")
            preds.append(0 if ("No" in words or "not" in words or "no" in words) else 1)
        tp = sum(1 for p, l in zip(preds, labels) if p == 1 and l == 1)
        fp = sum(1 for p, l in zip(preds, labels) if p == 1 and l == 0)
        tn = sum(1 for p, l in zip(preds, labels) if p == 0 and l == 0)
        fn = sum(1 for p, l in zip(preds, labels) if p == 0 and l == 1)
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
        f1 = 2 * precision * recall / (precision + recall)
        cats[cat] = {"TP": tp, "FP": fp, "TN": tn, "FN": fn, "accuracy": (tp + tn) / (tp + tn + fp + fn),
                     "precision": precision, "recall": recall, "f1": f1,
                     "yes_ratio": preds.count(1) / len(preds)}
        f1s.append(f1)
    return {"categories": cats, "f1_mean": sum(f1s) / len(f1s)}


# ---------------------------------------------------------------- MME

MME_PERCEPTION = ["existence", "count", "position", "color", "posters", "celebrity", "scene",
                  "landmark", "artwork", "OCR"]
MME_COGNITION = ["commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning"]


def make_mme(d):
    root = os.path.join(d, "MME_Benchmark_release_version")
    # subtask -> list of (image, [(question, gt, answer), (question, gt, answer)])
    # flat folders hold images and txt files together; artwork/ and celebrity/ use
    # images/ + questions_answers_YN/ as in the release
    tasks = {
        "existence": [("000000000001.jpg", [("Is there a dog in this image?", "Yes", "Yes"),
                                            ("Is there a cat in this image?", "No", "No")]),
                      ("000000000002.jpg", [("Is there a car in this image?", "Yes", "yes, there is"),
                                            ("Is there a bus in this image?", "No", "Not at all")])],
        "count": [("000000000003.jpg", [("Are there two cups in the image?", "Yes", "There are two"),
                                        ("Are there three cups in the image?", "No", "NO")])],
        "artwork": [("10002.jpg", [("Is this artwork created by Monet?", "Yes", "Yes"),
                                   ("Is this artwork created by Dali?", "No", "Yes")]),
                    ("10003.jpg", [("Is this artwork titled 'Sunrise'?", "No", "no"),
                                   ("Is this artwork titled 'Dawn'?", "Yes", "maybe yes")])],
        "OCR": [("0001.jpg", [("Is the word in the logo \"hello\"?", "Yes", "YES!"),
                              ("Is the word in the logo \"world\"?", "No", "noo")])],
        "code_reasoning": [("0020.png", [("Is a python code shown in the picture?", "Yes", "Yes"),
                                         ("Is a c++ code shown in the picture?", "No", "Yes")])],
    }
    double_space = {("artwork", "10003.jpg", 1)}          # GT written with two spaces
    already_suffixed = {("count", "000000000003.jpg", 0)}   # question text has the instruction
    questions, answers = [], []
    for task, images in tasks.items():
        nested = task in ("artwork",)
        for k, (img, qa) in enumerate(images):
            img_path = os.path.join(root, task, "images" if nested else "", img)
            write(img_path, image_bytes((30 * k, 90, 160), fmt="PNG" if img.endswith("png") else "JPEG"), True)
            lines = []
            for j, (q, gt, ans) in enumerate(qa):
                suffixed = (task, img, j) in already_suffixed
                sep = "  " if (task, img, j) in double_space else " "
                text = q + " Please answer yes or no." if suffixed else q
                lines.append("%s%sPlease answer yes or no.\t%s\n" % (q, sep, gt))
                qid = "%s/%s" % (task, img)
                questions.append({"question_id": qid, "image": "%s/%s%s" % (task, "images/" if nested else "", img),
                                  "text": text + SHORT, "category": task})
                answers.append(answer_line(qid, text + SHORT, ans))
            txt = os.path.join(root, task, "questions_answers_YN" if nested else "", os.path.splitext(img)[0] + ".txt")
            write(txt, "".join(lines))
    write_jsonl(os.path.join(d, "llava_mme.jsonl"), questions)
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)
    write_jsonl(os.path.join(d, "expected_items.jsonl"), jsonl_items(questions, "MME_Benchmark_release_version"))
    return {"scores": mme_score(d)}


def mme_gt(root):
    gt = {}
    for cat in sorted(os.listdir(root)):
        cdir = os.path.join(root, cat)
        if not os.path.isdir(cdir):
            continue
        qa = os.path.join(cdir, "questions_answers_YN") if os.path.exists(os.path.join(cdir, "images")) else cdir
        for f in os.listdir(qa):
            if f.endswith(".txt"):
                for line in open(os.path.join(qa, f), encoding="utf-8"):
                    q, a = line.strip().split("\t")
                    gt[(cat, f, q)] = a
    return gt


def mme_score(d):
    gt = mme_gt(os.path.join(d, "MME_Benchmark_release_version"))
    per_task = {}
    for a in read_jsonl(os.path.join(d, "answers.jsonl")):
        cat = a["question_id"].split("/")[0]
        file = a["question_id"].split("/")[-1].split(".")[0] + ".txt"
        prompt = a["prompt"]
        instr = "Answer the question using a single word or phrase."
        if instr in prompt:
            prompt = prompt.replace(instr, "").strip()
        if "Please answer yes or no." not in prompt:
            prompt = prompt + " Please answer yes or no."
            if (cat, file, prompt) not in gt:
                prompt = prompt.replace(" Please answer yes or no.", "  Please answer yes or no.")
        per_task.setdefault(cat, []).append((gt[(cat, file, prompt)], a["text"]))

    def parse(p):
        p = p.lower()
        if p in ("yes", "no"):
            return p
        return "yes" if "yes" in p[:4] else "no" if "no" in p[:4] else "other"

    out, totals = {}, {}
    for kind, names in (("perception", MME_PERCEPTION), ("cognition", MME_COGNITION)):
        total = 0
        for name in names:
            if name not in per_task:
                continue
            items = per_task[name]
            right = both = other = 0
            for k in range(0, len(items), 2):
                img_right = 0
                for g, p in items[k:k + 2]:
                    pp = parse(p)
                    img_right += pp == g.lower()
                    other += pp == "other"
                right += img_right
                both += img_right == 2
            acc, acc_plus = right / len(items), both / ((len(items) + 1) // 2)
            score = 0
            score += acc * 100
            score += acc_plus * 100
            out[name] = {"questions": len(items), "images": (len(items) + 1) // 2, "other": other,
                         "acc": acc, "acc_plus": acc_plus, "score": score}
            total += score
        totals[kind] = total
    return {"subtasks": out, "perception": totals["perception"], "cognition": totals["cognition"]}


# ---------------------------------------------------------------- GQA

def make_gqa(d):
    specs = [  # qid, question, gold, structural, semantic, global group, balanced, answer text
        ("201307251", "Is it overcast?", "no", "verify", "global", None, True, "No."),
        ("201640614", "Who is wearing the dress?", "woman", "query", "rel", "person", True, "Woman"),
        ("202225914", "Does the utensil look clean?", "yes", "verify", "attr", None, True, "Yes"),
        ("20968379", "What color is the car?", "red", "query", "attr", "color", True, "Red.."),
        ("20968380", "What color is the bus?", "white", "query", "attr", "color", True, "Red"),
        ("20968381", "Is the cup to the left or right?", "left", "choose", "rel", "left", True, "left "),
        ("20968382", "Are there both cars and buses?", "yes", "logical", "obj", None, True, "yes"),
        ("20968383", "Is the sky the same color as the car?", "no", "compare", "attr", None, True, "yes"),
        ("20968384", "What is the animal?", "dog", "query", "cat", "animal", True, "DOG."),
        ("20968385", "What is on the table?", "cup", "query", "rel", "thing", False, "cup"),
        ("20968386", "What animal is it?", "cat", "query", "cat", "animal", True, "Cat"),
    ]
    imgs = ["n161313.jpg", "n235859.jpg"]
    for k, name in enumerate(imgs):
        write(os.path.join(d, "images", name), image_bytes((10, 200 - 50 * k, 30), fmt="JPEG"), True)
    questions, answers, gt = [], [], {}
    for k, (qid, q, gold, st, se, glob, bal, text) in enumerate(specs):
        questions.append({"question_id": qid, "image": imgs[k % 2], "text": q + SHORT, "category": "default"})
        answers.append(answer_line(qid, q + SHORT, text))
        gt[qid] = {"semantic": [], "entailed": [], "equivalent": [qid], "question": q,
                   "imageId": imgs[k % 2][:-4], "isBalanced": bal, "groups": {"global": glob, "local": "x"},
                   "answer": gold, "semanticStr": "", "annotations": {}, "types":
                   {"structural": st, "semantic": se, "detailed": "x"}, "fullAnswer": gold}
    write_jsonl(os.path.join(d, "llava_gqa_testdev_balanced.jsonl"), questions)
    write(os.path.join(d, "testdev_balanced_questions.json"), json.dumps(gt))
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)
    write_jsonl(os.path.join(d, "expected_items.jsonl"), jsonl_items(questions, "images"))
    preds = [{"questionId": a["question_id"], "prediction": a["text"].rstrip(".").lower()} for a in answers]
    write(os.path.join(d, "expected_predictions.json"), json.dumps(preds))
    return {"scores": gqa_score(gt, preds), "files": {"_predictions.json": "expected_predictions.json"}}


def gqa_score(questions, preds):
    predictions = {p["questionId"]: p["prediction"] for p in preds}
    acc, binary, open_, per_st, per_se = [], [], [], {}, {}
    gold_d, pred_d = {}, {}
    for qid, q in questions.items():
        if not q["isBalanced"]:
            continue
        p = predictions[qid]
        s = float(p == q["answer"])
        acc.append(s)
        per_st.setdefault(q["types"]["structural"], []).append(s)
        per_se.setdefault(q["types"]["semantic"], []).append(s)
        (open_ if q["types"]["structural"] == "query" else binary).append(s)
        g = q["groups"]["global"]
        if g is not None:
            gold_d.setdefault(g, {}).setdefault(q["answer"], 0)
            gold_d[g][q["answer"]] += 1
            pred_d.setdefault(g, {}).setdefault(p, 0)
            pred_d[g][p] += 1
    sum_score = sum_overall = 0
    for g in gold_d:
        score = overall = 0
        for ans, e in gold_d[g].items():
            o = pred_d.get(g, {}).get(ans, 0)
            score += (float(o - e) ** 2) / e
            overall += e
        sum_score += score * overall
        sum_overall += overall
    avg = lambda l: float(sum(l)) / len(l) if l else 0
    return {"accuracy": avg(acc) * 100, "binary": avg(binary) * 100, "open": avg(open_) * 100,
            "distribution": float(sum_score) / sum_overall / 100, "questions": len(acc), "missing": 0,
            "per_structural_type": {k: {"accuracy": avg(v) * 100, "questions": len(v)} for k, v in per_st.items()},
            "per_semantic_type": {k: {"accuracy": avg(v) * 100, "questions": len(v)} for k, v in per_se.items()}}


# ---------------------------------------------------------------- ScienceQA

def make_sqa(d):
    problems = {
        "4": ("Which figure of speech is used in this text?\nSing, O goddess, the anger of Achilles.\n\u2014Homer, The Iliad",
              ["chiasmus", "apostrophe"], 1, False, "B"),
        "5": ("Context: People can use the engineering-design process.\nWhich of the following could Gordon's test show?",
              ["if the spacecraft was damaged", "how steady a parachute was", "whether it would swing"], 1, True,
              "B. how steady a parachute was"),
        "11": ("Which tense does the sentence use?\nMona will print her name.", ["present", "future", "past"], 1, True,
               "The answer is B."),
        "15": ("Select the fish below.", ["goldfish", "frog", "eagle", "salmon"], 0, True,
               "The answer is A. The answer is D."),
        "22": ("Which word would you find on a dictionary page?", ["shoe", "stairs"], 0, False, "I think it is A"),
        "23": ("What is the capital of Utah?", ["Salt Lake City", "Provo", "Denver"], 2, True, "E"),
        "26": ("Which animal's feet are also adapted for grabbing?", ["rabbit", "koala"], 1, True, "B"),
        "27": ("Is this a run-on sentence?", ["yes", "no"], 1, False, None),  # no answer: FAILED
        "29": ("Compare the motion of two ships.", ["ship A", "ship B"], 0, True, "The answer is a."),
    }
    questions, answers, items, probs = [], [], [], {}
    for pid, (q, choices, ans, has_img, text) in problems.items():
        human = q + "\n" + "\n".join("%s. %s" % ("ABCDE"[i], c) for i, c in enumerate(choices))
        entry = {"id": pid}
        if has_img:
            entry["image"] = "%s/image.png" % pid
            write(os.path.join(d, "images", "test", pid, "image.png"), image_bytes((100, 100, 20 * len(pid)), mode="RGBA"), True)
            human = "<image>\n" + human
        entry["conversations"] = [{"from": "human", "value": human}, {"from": "gpt", "value": "ABCDE"[ans]}]
        questions.append(entry)
        # model_vqa_science.py --single-pred-prompt
        qs = human.replace("<image>", "").strip()
        prompt = ("<image>\n" + qs) if has_img else qs
        items.append({"question_id": pid, "image": ("images/test/" + entry["image"]) if has_img else None,
                      "question": qs + OPTION, "prompt": prompt + OPTION})
        if text is not None:
            answers.append(answer_line(pid, prompt + OPTION, text))
        probs[pid] = {"question": q, "choices": choices, "answer": ans, "hint": "", "image": "image.png" if has_img else None,
                      "task": "closed choice", "grade": "grade2", "subject": "language science",
                      "topic": "x", "category": "x", "skill": "x", "lecture": "", "solution": "",
                      "split": "test"}
    probs["900"] = dict(probs["4"], split="val")
    write(os.path.join(d, "llava_test_CQM-A.json"), json.dumps(questions, indent=2))
    write(os.path.join(d, "problems.json"), json.dumps(probs))
    write(os.path.join(d, "pid_splits.json"), json.dumps({"train": [], "val": ["900"], "test": list(problems)}))
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)
    write_jsonl(os.path.join(d, "expected_items.jsonl"), items)
    scores, results, output = sqa_score(d)
    write(os.path.join(d, "expected_result.json"), json.dumps(results, indent=2))
    write(os.path.join(d, "expected_output.json"), json.dumps(output, indent=2))
    return {"scores": scores, "files": {"_result.json": "expected_result.json", "_output.json": "expected_output.json"}}


def sqa_score(d):
    options = ["A", "B", "C", "D", "E"]
    split = json.load(open(os.path.join(d, "pid_splits.json")))["test"]
    problems = json.load(open(os.path.join(d, "problems.json")))
    preds = {p["question_id"]: p for p in read_jsonl(os.path.join(d, "answers.jsonl"))}
    correct, incorrect, res = [], [], {"acc": None, "correct": None, "count": None, "results": {}, "outputs": {}}
    for pid in split:
        prob = problems[pid]
        pred = preds.get(pid, {"text": "FAILED", "prompt": "Unknown"})
        text = pred["text"]
        if text in options:
            ans = text
        elif len(text) >= 3 and text[0] in options and text[1:3] == ". ":
            ans = text[0]
        else:
            found = re.findall(r"The answer is ([A-Z]).", text)
            ans = found[0] if len(found) == 1 else "FAILED"
        idx = options.index(ans) if ans in options[:len(prob["choices"])] else -1
        analysis = {"question_id": pid, "parsed_ans": ans, "ground_truth": options[prob["answer"]],
                    "question": pred["prompt"], "pred": text, "is_multimodal": "<image>" in pred["prompt"]}
        res["results"][pid] = idx
        res["outputs"][pid] = text
        (correct if idx == prob["answer"] else incorrect).append(analysis)
    total = len(correct) + len(incorrect)
    mm_c = len([x for x in correct if x["is_multimodal"]])
    mm_t = mm_c + len([x for x in incorrect if x["is_multimodal"]])
    res["acc"], res["correct"], res["count"] = len(correct) / total * 100, len(correct), total
    failed = sum(1 for x in correct + incorrect if x["parsed_ans"] == "FAILED")
    scores = {"accuracy": len(correct) / total * 100, "img_accuracy": mm_c / mm_t * 100, "correct": len(correct),
              "count": total, "img_correct": mm_c, "img_count": mm_t, "failed": failed}
    return scores, res, {"correct": correct, "incorrect": incorrect}


# ---------------------------------------------------------------- TextVQA

def make_textvqa(d):
    ten = lambda *pairs: [a for a, n in pairs for _ in range(n)]
    specs = [  # image_id, question, ocr tokens (None: no OCR line), human answers, answer text
        ("003a8ae2ef43b901", "What is the brand of this camera?", ["DAKOTA", "DIGITAL"],
         ten(("dakota digital", 6), ("dakota", 3), ("Dakota Digital.", 1)), "Dakota Digital."),
        ("831bcec304a17054", "What brand liquor is on the right?", ["MORANGIE", "SCOTCH"],
         ten(("glenmorangie", 2), ("morangie", 8)), "Glenmorangie"),
        ("831bcec304a17054", "How long has the drink been aged?", ["MORANGIE", "SCOTCH"],
         ten(("10 years", 4), ("ten years", 3), ("10", 3)), "Ten years"),
        ("94ad4aad01e27a32", "What number is on the jersey?", [],
         ten(("22", 9), ("twenty two", 1)), "22."),
        ("181f00d3ee2b2076", "What does the sign say?", ["DON'T", "STOP"],
         ten(("dont stop", 1), ("don't stop", 2), ("stop", 7)), "Don't stop!"),
        ("30f9b48158fc56e6", "What is the price?", ["$1,000"],
         ten(("1,000", 1), ("1000", 3), ("$1,000", 6)), "1,000"),
        ("4ffbb21f379cccbe", "Which company made this?", None,
         ten(("the coca-cola company", 3), ("coca cola", 4), ("coca-cola", 3)), "The Coca-Cola company"),
        ("4dc59c7e57fa8968", "Are these switches on or off?", ["OFF"],
         ten(("off", 10)), "yes"),
    ]
    imgs = sorted({s[0] for s in specs})
    for k, name in enumerate(imgs):
        write(os.path.join(d, "train_images", name + ".jpg"), image_bytes((20 * k, 50, 50), fmt="JPEG"), True)
    questions, answers, data = [], [], []
    for img, q, ocr, humans, text in specs:
        if ocr is None:
            t = q + SHORT
        else:
            t = q + "\nReference OCR token: " + ", ".join(ocr) + SHORT
        questions.append({"question_id": img, "image": img + ".jpg", "text": t, "category": "default"})
        answers.append(answer_line(img, t, text))
        data.append({"question": q.lower().rstrip("?") + "?", "image_id": img, "image_classes": [],
                     "flickr_original_url": "", "flickr_300k_url": "", "image_width": 4, "image_height": 3,
                     "answers": humans, "question_tokens": [], "question_id": len(data), "set_name": "val"})
    write_jsonl(os.path.join(d, "llava_textvqa_val_v051_ocr.jsonl"), questions)
    write(os.path.join(d, "TextVQA_0.5.1_val.json"), json.dumps({"dataset_type": "val", "dataset_name": "textvqa",
                                                                "dataset_version": "0.5.1", "data": data}))
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)
    write_jsonl(os.path.join(d, "expected_items.jsonl"), jsonl_items(questions, "train_images"))
    ann = {(a["image_id"], a["question"].lower()): a for a in data}
    scores = []
    for a in answers:
        lines = a["prompt"].split("\n")
        if "Reference OCR token: " in a["prompt"] and len(lines) == 3:
            q = lines[1] if a["prompt"].startswith("Reference OCR token:") else lines[0]
        else:
            q = lines[0]
        gts = [evalai(x) for x in ann[(a["question_id"], q.lower())]["answers"]]
        scores.append(soft_acc(evalai(a["text"]), gts) if evalai(a["text"]) in gts else 0.0)
    acc = sum(scores) / len(scores)
    return {"scores": {"accuracy": 100 * acc, "samples": len(scores)},
            "per_answer": scores}


# ---------------------------------------------------------------- VQAv2 / VizWiz

def make_vqav2(d):
    texts = {1: "Yes", 2: "Two dogs.", 3: "The red one", 5: "3.5", 7: "blue, green"}
    specs = [(1, "Is the man happy?"), (2, "What animals are these?"), (3, "Which car is faster?"),
             (5, "How tall is it?"), (7, "What colors are the flags?")]
    extra = [(9, "What is it?"), (11, "Is it raining?")]  # in the full test split only
    img = "COCO_test2015_000000000001.jpg"
    write(os.path.join(d, "test2015", img), image_bytes((1, 2, 3), fmt="JPEG"), True)
    testdev = [{"question_id": q, "image": img, "text": t + SHORT, "category": "default"} for q, t in specs]
    full = testdev[:2] + [{"question_id": q, "image": img, "text": t + SHORT, "category": "default"} for q, t in extra] + testdev[2:]
    answers = [answer_line(q["question_id"], q["text"], texts[q["question_id"]]) for q in testdev]
    write_jsonl(os.path.join(d, "llava_vqav2_mscoco_test-dev2015.jsonl"), testdev)
    write_jsonl(os.path.join(d, "llava_vqav2_mscoco_test2015.jsonl"), full)
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)
    write_jsonl(os.path.join(d, "expected_items.jsonl"), jsonl_items(testdev, "test2015"))
    res = {a["question_id"]: a["text"] for a in answers}
    sub = [{"question_id": x["question_id"], "answer": evalai(res[x["question_id"]]) if x["question_id"] in res else ""}
           for x in full]
    write(os.path.join(d, "expected_submission.json"), json.dumps(sub))
    # a val-style annotations file for the local accuracy
    humans = {1: ["yes"] * 10, 2: ["2 dogs"] * 3 + ["dogs"] * 5 + ["two dogs"] * 2,
              3: ["red one"] * 2 + ["red"] * 7 + ["the red one"], 5: ["3.5"] * 4 + ["3.5 feet"] * 6,
              7: ["blue green"] * 2 + ["blue, green"] * 2 + ["blue and green"] * 6}
    types = {1: "yes/no", 2: "other", 3: "other", 5: "number", 7: "other"}
    anns = [{"question_id": q, "image_id": 1, "question_type": "what", "answer_type": types[q],
             "multiple_choice_answer": h[0],
             "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1} for i, a in enumerate(h)]}
            for q, h in humans.items()]
    write(os.path.join(d, "v2_mscoco_val2014_annotations.json"), json.dumps({"annotations": anns}))
    accs, per = [], {}
    for ann in anns:
        gts = [a["answer"] for a in ann["answers"]]
        if len(set(gts)) > 1:
            gts = [punctuation(g, True) for g in gts]
        v = soft_acc(server_norm(evalai(res[ann["question_id"]])), gts)
        accs.append(v)
        per.setdefault(ann["answer_type"], []).append(v)
    local = {"accuracy": 100 * sum(accs) / len(accs), "scored": len(accs),
             "per_answer_type": {k: 100 * sum(v) / len(v) for k, v in per.items()}}
    return {"scores": {"split_questions": len(full), "unanswered": 2},
            "files": {"_submission.json": "expected_submission.json"}, "local": local}


def make_vizwiz(d):
    specs = [("What is this?", "A can of Coke."), ("What color is this shirt?", "Blue"),
             ("Is the oven on?", "unanswerable"), ("What does the label say?", "Chicken noodle soup")]
    questions, answers = [], []
    for k, (q, text) in enumerate(specs):
        img = "VizWiz_test_%08d.jpg" % k
        write(os.path.join(d, "test", img), image_bytes((9 * k, 9, 9), fmt="JPEG"), True)
        t = q + "\nWhen the provided information is insufficient, respond with 'Unanswerable'." + SHORT
        questions.append({"question_id": k, "image": img, "text": t, "category": "default"})
        answers.append(answer_line(k, t, text))
    write_jsonl(os.path.join(d, "llava_test.jsonl"), questions)
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)
    write_jsonl(os.path.join(d, "expected_items.jsonl"), jsonl_items(questions, "test"))
    res = {a["question_id"]: a["text"] for a in answers}
    sub = [{"image": q["image"], "answer": evalai(res[q["question_id"]])} for q in questions]
    write(os.path.join(d, "expected_submission.json"), json.dumps(sub))
    humans = [["can of coke"] * 4 + ["coke"] * 4 + ["coca cola"] * 2, ["blue"] * 9 + ["navy"],
              ["unanswerable"] * 10, ["chicken noodle soup"] * 2 + ["soup"] * 8]
    types = ["other", "other", "unanswerable", "other"]
    val = [{"image": q["image"], "question": q["text"], "answerable": int(t != "unanswerable"), "answer_type": t,
            "answers": [{"answer": a, "answer_confidence": "yes"} for a in h]}
           for q, h, t in zip(questions, humans, types)]
    write(os.path.join(d, "val.json"), json.dumps(val))
    accs, per = [], {}
    for v, s in zip(val, sub):
        x = soft_acc(server_norm(s["answer"]), [a["answer"] for a in v["answers"]])
        accs.append(x)
        per.setdefault(v["answer_type"], []).append(x)
    local = {"accuracy": 100 * sum(accs) / len(accs), "scored": len(accs),
             "per_answer_type": {k: 100 * sum(v) / len(v) for k, v in per.items()}}
    return {"scores": {"split_questions": 4, "unanswered": 0},
            "files": {"_submission.json": "expected_submission.json"}, "local": local}


# ---------------------------------------------------------------- SEED-Bench

def make_seed(d):
    qtypes = {"Scene Understanding": 1, "Instance Identity": 2, "Action Recognition": 10,
              "Procedure Understanding": 12}
    specs = [  # qid, data_type, type id, answer, answer text (None: unanswered)
        ("101669", "image", 1, "A", "A"), ("104933", "image", 1, "B", "B"), ("89257", "image", 1, "C", "A"),
        ("7774", "image", 2, "D", "D"), ("79699", "image", 2, "A", "A."), ("104760", "image", 2, "B", None),
        ("v0", "video", 10, "C", "C"), ("v1", "video", 10, "A", "B"), ("v2", "video", 12, "D", "D"),
    ]
    questions, answers, ann = [], [], []
    for qid, dtype, tid, ans, text in specs:
        choices = ["apple %s" % qid, "banana", "cherry", "date"]
        q = "What is shown in item %s?" % qid
        t = q + "".join("\n%s. %s" % ("ABCD"[i], c) for i, c in enumerate(choices)) + OPTION
        if dtype == "image":
            img = "SEED-Bench-image/%s.jpg" % qid
            jid = int(qid)
        else:
            img = "SEED-Bench-video-image/%d_%s.png" % (tid, qid)
            jid = qid
        write(os.path.join(d, img), image_bytes((tid * 20, 0, 0), fmt="PNG" if img.endswith("png") else "JPEG"), True)
        questions.append({"image": img, "text": t, "category": "x", "question_id": jid})
        if text is not None:
            answers.append(answer_line(jid, t, text))
        ann.append({"answer": ans, "choice_a": choices[0], "choice_b": choices[1], "choice_c": choices[2],
                    "choice_d": choices[3], "data_id": img, "data_type": dtype, "question": q,
                    "question_id": qid, "question_type_id": tid})
    write_jsonl(os.path.join(d, "llava-seed-bench.jsonl"), questions)
    write(os.path.join(d, "SEED-Bench.json"), json.dumps({"question_type": qtypes, "questions": ann}))
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)
    items = [{"question_id": q["question_id"], "image": q["image"], "question": q["text"], "prompt": q["text"]}
             for q in questions]
    write_jsonl(os.path.join(d, "expected_items.jsonl"), items)
    res = {a["question_id"]: a for a in answers}
    names = {v: k for k, v in qtypes.items()}

    def acc(only):
        counts, right = {}, {}
        for q in ann:
            if only and q["data_type"] != only:
                continue
            counts[q["question_type_id"]] = counts.get(q["question_type_id"], 0) + 1
            try:
                key = int(q["question_id"])
            except ValueError:
                key = q["question_id"]
            ok = key in res and res[key]["text"] == q["answer"]
            right[q["question_type_id"]] = right.get(q["question_type_id"], 0) + ok
        per = {names[t]: right[t] / counts[t] * 100 for t in sorted(counts)}
        return per, sum(right.values()) / sum(counts.values()) * 100

    per, total = acc(None)
    return {"scores": {"per_type": per, "accuracy": total, "image_accuracy": acc("image")[1],
                       "video_accuracy": acc("video")[1], "questions": len(ann), "unanswered": 1}}


# ---------------------------------------------------------------- MMBench

def is_na(cell):
    return cell in ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


def is_none(cell):  # model_vqa_mmbench.is_none on what pandas hands over
    return is_na(cell) or cell.lower() in ("nan", "none")


def mmbench_rows(cn):
    """Base questions (index, question, hint, options, answer, category, l2); the TSV
    gets one row per rotation of the options, index + k * 1e6, as the real files."""
    if cn:
        return [
            (11, "图中是什么动物？", "nan", ["猫", "狗", "鸟", "鱼"], "A", "属性识别", "细粒度感知"),
            (12, "天空是什么颜色？", "这是一张户外照片。", ["蓝色", "红色"], "A", "颜色", "粗粒度感知"),
        ]
    return [
        (1, "What animal is in the image?", "The image shows a pet.", ["cat", "dog", "bird", "fish"], "A",
         "attribute_recognition", "finegrained_perception (instance-level)"),
        (2, "Is the sky blue?", "nan", ["yes", "no"], "A", "image_scene", "coarse_perception"),
        (3, "Which option is \"quoted\"?\tWith a tab", "N/A", ["first", "second", "None"], "B",
         "attribute_recognition", "finegrained_perception (instance-level)"),
        (4, "How many apples are there?", "Count them.\nCarefully.", ["1", "2", "3"], "C",
         "object_localization", "finegrained_perception (cross-instance)"),
    ]


def make_mmbench(d, cn):
    png = image_bytes((0, 128, 255), size=(3, 2), mode="P" if not cn else "RGB")
    write(os.path.join(d, "image.png"), png, True)
    b64 = base64.b64encode(png).decode()
    rows, items = [], []
    # answers per (index) row: chosen to hit the matching rules
    texts = {
        1: "A", 1000001: "D", 2000001: "The answer is C", 3000001: "B. cat",  # all right (rotations)
        2: "A", 1000002: "no",                                                # option text -> wrong rotation? see below
        3: "B", 1000003: "Cannot determine the answer",                       # refusal -> Z (wrong)
        4: "C", 1000004: "It is 3", 2000004: "three apples",                  # last: no rule matches
        11: "A", 1000011: "D", 2000011: "C", 3000011: "B",
        12: "A", 1000012: "蓝色",
    }
    for idx, q, hint, opts, ans, cat, l2 in mmbench_rows(cn):
        # pandas cuts the options at the first missing one; a "None" option is missing
        present = []
        for o in opts:
            if is_none(o):
                break
            present.append(o)
        n = len(present) if len(present) > 1 else 1
        for k in range(n):
            rot = present[k:] + present[:k]
            cells = rot + [""] * (4 - len(rot))
            # the answer letter follows the right option through the rotations
            right = present["ABCD".index(ans)]
            rans = "ABCD"[rot.index(right)]
            if idx == 3:  # keep the literal "None" cell in the file: pandas reads it as missing
                cells = rot + ["None"] + [""] * (3 - len(rot))
            rows.append([str(idx + k * 1000000), q, hint] + cells + [rans, cat, b64, "src", l2, "nan", "dev"])
    cols = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image", "source",
            "l2-category", "comment", "split"]
    name = "mmbench_dev_cn_20231003.tsv" if cn else "mmbench_dev_20230712.tsv"
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(r)
    write(os.path.join(d, name), buf.getvalue())
    # what model_vqa_mmbench.py asks (one round per row)
    answers = []
    for r in rows:
        cell = dict(zip(cols, r))
        opts = []
        for c in "ABCD":
            if is_none(cell[c]):
                break
            opts.append(cell[c])
        question = cell["question"]
        if not is_none(cell["hint"]):
            question = cell["hint"] + "\n" + question
        for ch, o in zip("ABCD", opts):
            question = question + "\n" + ch + ". " + o
        qs = question + (OPTION_CN if cn else OPTION)
        items.append({"question_id": int(cell["index"]), "image": None, "question": qs, "prompt": question,
                      "options": opts, "option_char": list("ABCD"[:len(opts)])})
        idx = int(cell["index"])
        if idx in texts:
            answers.append(answer_line(idx, question, texts[idx],
                                       {"round_id": 0, "options": opts, "option_char": list("ABCD"[:len(opts)])}))
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)
    write_jsonl(os.path.join(d, "expected_items.jsonl"), items)
    return {"scores": mmbench_score(cols, rows, answers), "tsv": name}


def can_infer(answer, choices):
    """The matching rules of OpenCompass's tools/eval_mmbench.py (the judge of the
    MMBench server), written afresh: one bare letter of A-E (unless the word "A" is
    there and the answer has more than three words), else one letter in one of the
    punctuated forms, else the one option text inside the answer; False = GPT."""
    if "Failed to obtain answer via API" not in answer:
        splits = answer.split()
        bare = [c for c in "ABCDE" if c in splits]
        if len(bare) == 1 and not ("A" in splits and len(splits) > 3):
            return bare[0]
        for pre, suf in [("", "."), ("", ","), ("", ":"), ("", ")"), ("", ")."), ("(", ")"),
                         ("(", ")."), (":", ""), (":", ","), (":", "."), (":", ")"), (":", ").")]:
            hits = [c for c in "ABCDE" if pre + c + suf in splits]
            if len(hits) == 1:
                return hits[0]
    low = answer.lower()
    cands = [k for k in choices if str(choices[k]).lower() in low]
    return cands[0] if len(cands) == 1 else False


def mmbench_score(cols, rows, answers):
    pred = {}
    for a in answers:
        pred[a["question_id"]] = a["text"]
    groups, order = {}, []
    for r in rows:
        cell = dict(zip(cols, r))
        g = int(cell["index"]) % 1000000
        if g not in groups:
            groups[g] = []
            order.append(g)
        groups[g].append(cell)
    right_groups = total = rows_ok = rows_n = unmatched = 0
    per_cat, per_l2 = {}, {}
    for g in order:
        ok_all, done = True, True
        for cell in groups[g]:
            p = pred.get(int(cell["index"]))
            if p is None:
                done = False
                continue
            choices = {c: cell[c] for c in "ABCD" if not is_na(cell[c])}
            got = can_infer(p, choices)
            unmatched += got is False
            ok = got == cell["answer"]
            rows_n += 1
            rows_ok += ok
            ok_all &= ok
        if not done:
            continue
        total += 1
        right_groups += ok_all
        first = groups[g][0]
        per_cat.setdefault(first["category"], []).append(ok_all)
        per_l2.setdefault(first["l2-category"], []).append(ok_all)
    return {"circular_accuracy": 100 * right_groups / total, "questions": total,
            "single_accuracy": 100 * rows_ok / rows_n, "rows_answered": rows_n, "unmatched": unmatched,
            "per_category": {k: 100 * sum(v) / len(v) for k, v in per_cat.items()},
            "per_l2_category": {k: 100 * sum(v) / len(v) for k, v in per_l2.items()}}


# ---------------------------------------------------------------- LLaVA-Bench, MM-Vet

def make_llava_bench(d):
    questions = [{"image": "001.jpg", "text": "What is the name of this famous sight in the photo?",
                  "category": "conv", "question_id": 0},
                 {"image": "002.jpg", "text": "Describe this photo in detail.", "category": "detail", "question_id": 1}]
    for k, q in enumerate(questions):
        write(os.path.join(d, "images", q["image"]), image_bytes((k * 50, 10, 10), fmt="JPEG"), True)
    answers = [answer_line(q["question_id"], q["text"], t) for q, t in
               zip(questions, ["Diamond Head, a volcanic crater in Hawaii.", "A beach with \u201cpalm\u201d trees.\n\nCalm sea."])]
    write_jsonl(os.path.join(d, "questions.jsonl"), questions)
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)
    write_jsonl(os.path.join(d, "expected_items.jsonl"), jsonl_items(questions, "images"))
    return {"scores": {}}


def make_mmvet(d):
    questions = [{"image": "v1_0.png", "text": "What is x in the equation?", "category": "conv", "question_id": 0},
                 {"image": "v1_1.png", "text": "What is d in the last equation?", "category": "conv", "question_id": 1}]
    for k, q in enumerate(questions):
        write(os.path.join(d, "images", q["image"]), image_bytes((10, k * 90, 10)), True)
    answers = [answer_line(q["question_id"], q["text"], t) for q, t in zip(questions, ["x = 3", "d = \u221a2 \U0001F600"])]
    write_jsonl(os.path.join(d, "llava-mm-vet.jsonl"), questions)
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)
    write_jsonl(os.path.join(d, "expected_items.jsonl"), jsonl_items(questions, "images"))
    conv = {"v1_%s" % a["question_id"]: a["text"] for a in answers}
    write(os.path.join(d, "expected_mmvet.json"), json.dumps(conv, indent=2))
    return {"scores": {}, "files": {"_mmvet.json": "expected_mmvet.json"}}


# ---------------------------------------------------------------- driver

BUILDERS = {
    "pope": make_pope, "mme": make_mme, "gqa": make_gqa, "sqa": make_sqa, "textvqa": make_textvqa,
    "vqav2": make_vqav2, "vizwiz": make_vizwiz, "seed": make_seed,
    "mmbench": lambda d: make_mmbench(d, False), "mmbench_cn": lambda d: make_mmbench(d, True),
    "llava_bench": make_llava_bench, "mmvet": make_mmvet,
}


def build_all():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for kind, fn in BUILDERS.items():
        d = os.path.join(OUT, kind)
        os.makedirs(d, exist_ok=True)
        exp = fn(d)
        write(os.path.join(d, "expected.json"), json.dumps(exp, indent=1, sort_keys=True) + "\n")
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print("wrote %s (%d bytes)" % (OUT, total))


# ---------------------------------------------------------------- checks against the official scripts

def run_official(llava, mme_calc, gqa_eval):
    """Runs LLaVA's own scripts on the fixtures and compares with expected.json."""
    sys.path.insert(0, llava)
    os.environ["PYTHONPATH"] = os.pathsep.join([llava] + os.environ.get("PYTHONPATH", "").split(os.pathsep))
    tmp = tempfile.mkdtemp()
    py = sys.executable
    ok = True

    def check(name, a, b, tol=1e-12):
        nonlocal ok
        same = abs(a - b) <= tol * max(1, abs(a)) if isinstance(a, float) or isinstance(b, float) else a == b
        show = lambda v: ("<%d chars>" % len(v)) if isinstance(v, str) and len(v) > 30 else repr(v)
        print("%-44s %-22s %-22s %s" % (name, show(a), show(b), "ok" if same else "DIFFERS"))
        ok &= same

    def exp(kind):
        return json.load(open(os.path.join(OUT, kind, "expected.json")))

    # POPE
    d = os.path.join(OUT, "pope")
    out = subprocess.run([py, os.path.join(llava, "llava/eval/eval_pope.py"), "--annotation-dir", d + "/coco",
                          "--question-file", d + "/llava_pope_test.jsonl", "--result-file", d + "/answers.jsonl"],
                         capture_output=True, text=True, check=True).stdout
    for cat, f1 in re.findall(r"Category: (\w+).*?F1 score: ([0-9.]+)", out, re.S):
        check("pope %s f1" % cat, float(f1), exp("pope")["scores"]["categories"][cat]["f1"])
    # ScienceQA
    d = os.path.join(OUT, "sqa")
    subprocess.run([py, os.path.join(llava, "llava/eval/eval_science_qa.py"), "--base-dir", d, "--result-file",
                    d + "/answers.jsonl", "--output-file", tmp + "/o.json", "--output-result", tmp + "/r.json"],
                   capture_output=True, check=True)
    check("sqa result.json bytes", open(tmp + "/r.json").read(), open(d + "/expected_result.json").read())
    check("sqa output.json bytes", open(tmp + "/o.json").read(), open(d + "/expected_output.json").read())
    # TextVQA (m4c evaluator imported by path, without the llava package's model imports)
    import importlib.util
    spec = importlib.util.spec_from_file_location("m4c", os.path.join(llava, "llava/eval/m4c_evaluator.py"))
    m4c = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m4c)
    d = os.path.join(OUT, "textvqa")
    data = json.load(open(d + "/TextVQA_0.5.1_val.json"))["data"]
    ann = {(a["image_id"], a["question"].lower()): a for a in data}
    preds = []
    for r in read_jsonl(d + "/answers.jsonl"):
        lines = r["prompt"].split("\n")
        q = lines[0] if len(lines) != 3 or not r["prompt"].startswith("Reference OCR token:") else lines[1]
        preds.append({"pred_answer": r["text"], "gt_answers": ann[(r["question_id"], q.lower())]["answers"]})
    check("textvqa accuracy", 100 * m4c.TextVQAAccuracyEvaluator().eval_pred_list(preds),
          exp("textvqa")["scores"]["accuracy"])
    proc = m4c.EvalAIAnswerProcessor()
    for s in NORMALISATION_CASES:
        check("evalai %r" % s, proc(s), evalai(s))
    # VQAv2 / VizWiz submissions
    for kind, script, args in (
            ("vqav2", "convert_vqav2_for_submission.py", None),
            ("vizwiz", "convert_vizwiz_for_submission.py", None)):
        d = os.path.join(OUT, kind)
        if kind == "vqav2":
            work = os.path.join(tmp, "vqav2")
            os.makedirs(os.path.join(work, "answers", "split", "ckpt"), exist_ok=True)
            shutil.copy(d + "/answers.jsonl", os.path.join(work, "answers", "split", "ckpt", "merge.jsonl"))
            shutil.copy(d + "/llava_vqav2_mscoco_test2015.jsonl", work)
            subprocess.run([py, os.path.join(llava, "scripts", script), "--dir", work, "--ckpt", "ckpt", "--split", "split"],
                           capture_output=True, check=True, cwd=llava)
            got = open(os.path.join(work, "answers_upload", "split", "ckpt.json")).read()
        else:
            subprocess.run([py, os.path.join(llava, "scripts", script), "--annotation-file", d + "/llava_test.jsonl",
                            "--result-file", d + "/answers.jsonl", "--result-upload-file", tmp + "/vw.json"],
                           capture_output=True, check=True, cwd=llava)
            got = open(tmp + "/vw.json").read()
        check("%s submission bytes" % kind, got, open(d + "/expected_submission.json").read())
    # GQA predictions, SEED, MM-Vet conversions
    d = os.path.join(OUT, "gqa")
    subprocess.run([py, os.path.join(llava, "scripts/convert_gqa_for_eval.py"), "--src", d + "/answers.jsonl",
                    "--dst", tmp + "/gqa.json"], check=True)
    check("gqa predictions bytes", open(tmp + "/gqa.json").read(), open(d + "/expected_predictions.json").read())
    d = os.path.join(OUT, "mmvet")
    subprocess.run([py, os.path.join(llava, "scripts/convert_mmvet_for_eval.py"), "--src", d + "/answers.jsonl",
                    "--dst", tmp + "/mv.json"], check=True)
    check("mmvet conversion bytes", open(tmp + "/mv.json").read(), open(d + "/expected_mmvet.json").read())
    d = os.path.join(OUT, "seed")
    out = subprocess.run([py, os.path.join(llava, "scripts/convert_seed_for_submission.py"), "--annotation-file",
                          d + "/SEED-Bench.json", "--result-file", d + "/answers.jsonl", "--result-upload-file",
                          tmp + "/seed.jsonl"], capture_output=True, text=True).stdout
    for name, v in re.findall(r"^(.*?): ([0-9.]+)%$", out, re.M):
        e = exp("seed")["scores"]
        want = e["accuracy"] if name == "Total accuracy" else e["image_accuracy"] if name == "image accuracy" else \
            e["video_accuracy"] if name == "video accuracy" else e["per_type"].get(name)
        check("seed %s (2 decimals)" % name, float(v), round(want, 2), 1e-9)
    if gqa_eval:
        d = os.path.join(OUT, "gqa")
        work = os.path.join(tmp, "gqa")
        os.makedirs(work)
        shutil.copy(d + "/testdev_balanced_questions.json", work)
        shutil.copy(d + "/expected_predictions.json", work + "/testdev_balanced_predictions.json")
        out = subprocess.run([py, gqa_eval, "--tier", "testdev_balanced"], capture_output=True, text=True, cwd=work).stdout
        e = exp("gqa")["scores"]
        for name in ("Binary", "Open", "Accuracy", "Distribution"):
            m = re.search(r"^%s: ([0-9.]+)" % name, out, re.M)
            check("gqa %s (2 decimals)" % name, float(m.group(1)), round(e[name.lower()], 2), 1e-9)
    if mme_calc:
        d = os.path.join(OUT, "mme")
        work = os.path.join(tmp, "MME")
        shutil.copytree(d + "/MME_Benchmark_release_version", work + "/MME_Benchmark_release_version")
        os.makedirs(work + "/answers")
        shutil.copy(d + "/answers.jsonl", work + "/answers/fx.jsonl")
        shutil.copy(os.path.join(llava, "playground/data/eval/MME/convert_answer_to_mme.py"), work)
        subprocess.run([py, "convert_answer_to_mme.py", "--experiment", "fx"], cwd=work, check=True)
        os.makedirs(work + "/eval_tool", exist_ok=True)
        # calculation.py reads every subtask file: give the absent ones one right pair
        for t in MME_PERCEPTION + MME_COGNITION:
            p = os.path.join(work, "eval_tool", "answers", "fx", t + ".txt")
            if not os.path.exists(p):
                write(p, "a.jpg\tq\tYes\tYes\na.jpg\tq\tNo\tNo\n")
        out = subprocess.run([py, mme_calc, "--results_dir", "answers/fx"], cwd=work + "/eval_tool",
                             capture_output=True, text=True, check=True).stdout
        e = exp("mme")["scores"]["subtasks"]
        for t, v in re.findall(r"^\s+(\w+)\s+score: ([0-9.]+)", out, re.M):
            if t in e:
                check("mme %s score" % t, float(v), e[t]["score"])
    print("all official checks agree" if ok else "SOME CHECKS DIFFER")
    return ok


NORMALISATION_CASES = [
    "Dakota Digital.", "Two dogs.", "The red one", "3.5", "blue, green", "1,000", "Don't stop!", "dont",
    "It's the man's hat", "a/b testing", "(left)", "x - y", "no-one", "e.g. this", "A. B. C.", "1.5.2",
    "twenty-two", "Yes!!", "none", "ten", "What's that?", "  padded\tanswer\n", "n't", "Im here",
    "\u00c9COLE", "\u0130stanbul", "\uff11.\uff12", "3.", "." * 40 + "x", "somebody'd", "let's go",
]


def main():
    args = sys.argv[1:]
    if args and args[0] == "unicode":
        gen_unicode_tables(args[1])
        return
    official = mme_calc = gqa_eval = None
    i = 0
    while i < len(args):
        if args[i] == "--official":
            official = args[i + 1]
        elif args[i] == "--mme-calc":
            mme_calc = os.path.abspath(args[i + 1])
        elif args[i] == "--gqa-eval":
            gqa_eval = os.path.abspath(args[i + 1])
        else:
            sys.exit("unknown argument " + args[i])
        i += 2
    build_all()
    if official:
        sys.exit(0 if run_official(os.path.abspath(official), mme_calc, gqa_eval) else 1)


def gen_unicode_tables(path):
    """Writes src/text/pytext_tables.c: the Unicode facts Python's str uses (lower(), re's \\d)."""
    import unicodedata
    pairs = []
    for cp in range(0x110000):
        low = chr(cp).lower()
        if len(low) == 1 and low != chr(cp):
            pairs.append((cp, ord(low) - cp))
    # runs (first, last, delta, step): consecutive code points (step 1) or every other one
    # (step 2, the Latin Extended-A style alternation) sharing one delta
    runs = []
    i = 0
    while i < len(pairs):
        first, delta = pairs[i]
        best_j, best_step = i, 1
        for step in (1, 2):
            j = i
            while (j + 1 < len(pairs) and pairs[j + 1][0] == pairs[j][0] + step
                   and pairs[j + 1][1] == delta):
                j += 1
            if j > best_j:
                best_j, best_step = j, step
        runs.append((first, pairs[best_j][0], delta, best_step))
        i = best_j + 1
    digit = re.compile(r"\d")
    nd_runs = []
    for cp in range(0x110000):
        if digit.match(chr(cp)):
            if nd_runs and nd_runs[-1][1] == cp - 1:
                nd_runs[-1][1] = cp
            else:
                nd_runs.append([cp, cp])
    with open(path, "w") as f:
        f.write("/* Generated by tests/reference/make_bench_fixtures.py unicode (Python %s, Unicode %s):\n"
                " * the code point facts behind Python's str.lower() and re's \\d. Do not edit. */\n"
                % (".".join(map(str, sys.version_info[:3])), unicodedata.unidata_version))
        f.write('#include "text/pytext.h"\n\n/* clang-format off */\n')
        f.write("const PyLowerRun py_lower_runs[] = {\n")
        for a, b, dl, s in runs:
            f.write("    {0x%04X, 0x%04X, %d, %d},\n" % (a, b, dl, s))
        f.write("};\nconst int py_lower_nruns = %d;\n\n" % len(runs))
        f.write("const uint32_t py_digit_ranges[][2] = {\n")
        for a, b in nd_runs:
            f.write("    {0x%04X, 0x%04X},\n" % (a, b))
        f.write("};\nconst int py_digit_nranges = %d;\n/* clang-format on */\n" % len(nd_runs))


if __name__ == "__main__":
    main()
