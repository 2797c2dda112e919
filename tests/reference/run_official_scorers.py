"""Runs the official scoring scripts on the scorer fixtures of tests/fixtures/bench
and prints (or writes, with --write) the numbers they give, the expected values of
tests/unit/test_score_official.c. The scripts are not part of this repository: pass
where they are.

    python tests/reference/run_official_scorers.py --llava LLAVA_REPO \
        --opencompass-mmbench opencompass/tools/eval_mmbench.py [--write]

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


def main():
    args = sys.argv[1:]
    llava = os.path.abspath(args[args.index("--llava") + 1])
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
