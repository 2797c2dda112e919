"""Runs the official scoring scripts on the scorer fixtures of tests/fixtures/bench
and prints (or writes, with --write) the numbers they give, the expected values of
tests/unit/test_score_official.c. The scripts are not part of this repository: pass
where they are.

    python tests/reference/run_official_scorers.py --llava LLAVA_REPO \
        --opencompass-mmbench opencompass/tools/eval_mmbench.py [--write]
    python tests/reference/run_official_scorers.py --llava LLAVA_REPO --raises \
        --mme-calc eval_tool/calculation.py --gqa-eval gqa/eval/eval.py [--write]

--raises runs the scripts on the inputs where they stop (tests/fixtures/bench/
{pope,mme,gqa,seed}/official/) and records, per case, in expected_<case>.txt, the
exception they end with (or the lines they print when they run through). LLAVA_REPO
is a LLaVA checkout at c121f04; convert_answer_to_mme.py is taken from its
playground/data/eval/MME/ when there (LLaVA ships it in its eval.zip: pass
--mme-convert otherwise); calculation.py is MME's eval_tool; eval.py is the GQA
evaluation script as LLaVA's docs/Evaluation.md has it modified (scores balanced
questions only).

Needs pandas, openpyxl, numpy and tqdm. OpenCompass's script asks GPT-3.5 to match
the answers its rules cannot; it runs here with a stand-in that always answers
"E", an option no question has, so those questions count wrong: the number the
local scorer reports as its lower bound.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures", "bench")

STUB = '''
class OpenAI:
    def __init__(self, *a, **k):
        pass
    def generate(self, prompts):
        return ["E" for _ in prompts]
'''


def mmbench(llava, oc_script, kind, tsv, answers):
    work = tempfile.mkdtemp()
    try:
        os.makedirs(f"{work}/opencompass")
        open(f"{work}/opencompass/__init__.py", "w").close()
        open(f"{work}/opencompass/models.py", "w").write(STUB)
        os.makedirs(f"{work}/res")
        os.makedirs(f"{work}/up")
        shutil.copy(answers, f"{work}/res/fx.jsonl")
        subprocess.run([sys.executable, f"{llava}/scripts/convert_mmbench_for_submission.py",
                        "--annotation-file", tsv, "--result-dir", f"{work}/res", "--upload-dir",
                        f"{work}/up", "--experiment", "fx"], check=True)
        env = dict(os.environ, PYTHONPATH=work)
        subprocess.run([sys.executable, oc_script, f"{work}/up/fx.xlsx", "--meta", tsv],
                       check=True, cwd=work, env=env, capture_output=True)
        overall = pd.read_csv(f"{work}/up/fx_overall.csv")
        l2 = pd.read_csv(f"{work}/up/fx_l2.csv")
        leaf = pd.read_csv(f"{work}/up/fx_leaf.csv")
        full = lambda df: {k: float(df[k][0]) * 100 for k in df.columns if k != "split"}
        return {"circular_accuracy": full(overall)["overall"], "per_category": full(leaf),
                "per_l2_category": full(l2)}
    finally:
        shutil.rmtree(work)


def run_case(cmd, cwd=None):
    """Runs one official script; returns "raises <its exception line>" or "runs"."""
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if p.returncode == 0:
        return "runs", p.stdout
    last = [l for l in p.stderr.strip().split("\n") if l and not l.startswith(" ")][-1]
    return "raises " + last, p.stdout


def raises(llava, mme_convert, mme_calc, gqa_eval, write):
    py = sys.executable
    cases = []  # (fixture folder, case, script label, inputs, outcome)
    tmp = tempfile.mkdtemp()

    d = os.path.join(FIX, "pope", "official")
    pope = os.path.join(llava, "llava/eval/eval_pope.py")
    for case, coco, answers in (("no_yes", "coco_no_yes", "answers_no_yes.jsonl"),
                                ("one_category", "coco_two", "answers_one_category.jsonl"),
                                ("extra_file", "coco_extra", "answers_one_category.jsonl")):
        out, _ = run_case([py, pope, "--annotation-dir", f"{d}/{coco}", "--question-file",
                           f"{d}/llava_pope_test.jsonl", "--result-file", f"{d}/{answers}"])
        cases.append((d, case, "LLaVA llava/eval/eval_pope.py (c121f04)",
                      f"--annotation-dir {coco} --question-file llava_pope_test.jsonl --result-file {answers}", out))

    d = os.path.join(FIX, "mme", "official")
    for case, answers in (("newline", "answers_newline.jsonl"), ("odd", "answers_odd.jsonl")):
        work = os.path.join(tmp, "mme_" + case, "w", "MME")
        shutil.copytree(os.path.join(FIX, "mme", "MME_Benchmark_release_version"),
                        os.path.join(work, "MME_Benchmark_release_version"))
        os.makedirs(os.path.join(work, "answers"))
        shutil.copy(os.path.join(d, answers), os.path.join(work, "answers", "fx.jsonl"))
        shutil.copy(mme_convert, work)
        subprocess.run([py, "convert_answer_to_mme.py", "--experiment", "fx"], cwd=work, check=True)
        res = os.path.join(work, "eval_tool", "answers", "fx")
        # calculation.py opens every subtask's file: the absent ones get one right pair
        for t in ("existence count position color posters celebrity scene landmark artwork OCR "
                  "commonsense_reasoning numerical_calculation text_translation code_reasoning").split():
            if not os.path.exists(os.path.join(res, t + ".txt")):
                open(os.path.join(res, t + ".txt"), "w").write("a.jpg\tq\tYes\tYes\na.jpg\tq\tNo\tNo\n")
        shutil.copy(mme_calc, os.path.join(work, "eval_tool", "calculation.py"))
        out, _ = run_case([py, "calculation.py", "--results_dir", "answers/fx"], cwd=os.path.join(work, "eval_tool"))
        cases.append((d, case, "LLaVA convert_answer_to_mme.py, then MME eval_tool/calculation.py",
                      f"{answers} with ../MME_Benchmark_release_version (absent subtasks given one right pair)", out))

    d = os.path.join(FIX, "gqa", "official")
    for case, questions, answers in (("int_ids", "int_ids_questions.json", "answers_int_ids.jsonl"),
                                     ("no_global", "no_global_questions.json", "answers_no_global.jsonl"),
                                     ("unbalanced", "unbalanced_questions.json", "answers_unbalanced.jsonl")):
        work = os.path.join(tmp, "gqa_" + case)
        os.makedirs(work)
        shutil.copy(os.path.join(d, questions), os.path.join(work, "testdev_balanced_questions.json"))
        subprocess.run([py, os.path.join(llava, "scripts/convert_gqa_for_eval.py"), "--src", os.path.join(d, answers),
                        "--dst", os.path.join(work, "testdev_balanced_predictions.json")], check=True)
        out, stdout = run_case([py, gqa_eval, "--tier", "testdev_balanced"], cwd=work)
        if out == "runs":
            out += ": " + "; ".join(l for l in stdout.split("\n") if l.startswith(("Binary:", "Open:", "Accuracy:")))
        cases.append((d, case, "LLaVA scripts/convert_gqa_for_eval.py (c121f04), then GQA eval.py --tier testdev_balanced",
                      f"{answers} with {questions} as testdev_balanced_questions.json", out))

    d = os.path.join(FIX, "seed", "official")
    for case in ("never_right", "image_only", "unknown_type", "mixed_type"):
        out, _ = run_case([py, os.path.join(llava, "scripts/convert_seed_for_submission.py"), "--annotation-file",
                           f"{d}/{case}.json", "--result-file", f"{d}/answers_{case}.jsonl",
                           "--result-upload-file", os.path.join(tmp, "seed.jsonl")])
        cases.append((d, case, "LLaVA scripts/convert_seed_for_submission.py (c121f04)",
                      f"--annotation-file {case}.json --result-file answers_{case}.jsonl", out))
    shutil.rmtree(tmp)
    for d, case, script, inputs, out in cases:
        line = f"{script} on {inputs}: {out}"
        print(f"{os.path.relpath(d, FIX)}/expected_{case}.txt: {line}")
        if write:
            with open(os.path.join(d, f"expected_{case}.txt"), "w") as f:
                f.write(line + "\n")


def main():
    args = sys.argv[1:]
    llava = os.path.abspath(args[args.index("--llava") + 1])
    if "--raises" in args:
        opt = lambda k: os.path.abspath(args[args.index(k) + 1])
        conv = opt("--mme-convert") if "--mme-convert" in args else \
            os.path.join(llava, "playground/data/eval/MME/convert_answer_to_mme.py")
        raises(llava, conv, opt("--mme-calc"), opt("--gqa-eval"), "--write" in args)
        return
    oc = os.path.abspath(args[args.index("--opencompass-mmbench") + 1])
    res = {}
    d = os.path.join(FIX, "mmbench")
    res["mmbench_opencompass"] = mmbench(llava, oc, "mmbench", os.path.abspath(f"{d}/mmbench_dev_20230712.tsv"),
                                         os.path.abspath(f"{d}/answers_opencompass.jsonl"))
    print(json.dumps(res, indent=1, sort_keys=True))
    if "--write" in args:
        with open(os.path.join(d, "expected_opencompass.json"), "w") as f:
            json.dump({"scores": res["mmbench_opencompass"], "by": "OpenCompass tools/eval_mmbench.py "
                       "(f1ee11de) on LLaVA's convert_mmbench_for_submission.py (c121f04) xlsx; GPT stand-in answers E"},
                      f, indent=1, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
