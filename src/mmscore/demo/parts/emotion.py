"""Demo part: emotion benchmarks on the shipped synthetic examples (no LLM judge, offline)."""

from __future__ import annotations

from importlib import resources

ORDER = 70
TITLE = "Emotion recognition and reasoning (MER-style classify, MER-OV, EMER BLEU/ROUGE)"

_FILES = ("README.md", "gold.csv", "predictions.jsonl", "ov_gold.csv", "ov_pred.csv", "ov_grouping.json",
          "emer_gold.csv", "emer_pred.csv")


def run(ctx) -> list[str]:
    from mmscore.emotion.classify import evaluate_classification
    from mmscore.emotion.emer import evaluate_emer
    from mmscore.emotion.openvocab import evaluate_openvocab
    from mmscore.emotion.report import write_classification_outputs, write_task_outputs
    from mmscore.io.atomic import atomic_write_bytes

    folder = ctx.workspace / "emotion"
    source = resources.files("mmscore.examples").joinpath("emotion")
    files = {name: atomic_write_bytes(folder / "data" / name, source.joinpath(name).read_bytes()) for name in _FILES}
    lines = [f"synthetic examples copied to {folder / 'data'} (invented data, see README.md)"]

    result = evaluate_classification(files["gold.csv"], files["predictions.jsonl"], preset="mer2023")
    s = result.summary
    s["method"] = "demo-model"
    write_classification_outputs(s, result.samples, folder / "classify.json", "demo-model")
    lines.append(f"classify (mer2023, {s['n']} clips): weighted F1 {s['weighted_f1']:.4f}, accuracy "
                 f"{s['accuracy']:.4f}, macro F1 {s['macro_f1']:.4f}, UAR {s['uar']:.4f}; "
                 f"{s['out_of_set']['count']} out-of-set answer(s), {s['missing']['count']} missing")
    lines.append(f"  -> {folder / 'classify.json'} (+ .samples/.per_class/.confusion.csv, .md, .confusion.png)")

    ov, ov_table = evaluate_openvocab(files["ov_gold.csv"], files["ov_pred.csv"], grouping=files["ov_grouping.json"])
    write_task_outputs(ov, ov_table, folder / "ov.json", "demo-model")
    lines.append(f"MER-OV ({ov['n']} clips, grouping file): precision {ov['precision']:.4f}, recall "
                 f"{ov['recall']:.4f}, final {ov['average']:.4f}")

    emer, emer_table = evaluate_emer(files["emer_gold.csv"], files["emer_pred.csv"], judge=None)
    write_task_outputs(emer, emer_table, folder / "emer.json", "demo-model")
    lines.append(f"EMER text overlap ({emer['n']} clips): BLEU {emer['bleu']:.2f}, ROUGE-L {emer['rouge_l']:.4f} "
                 "(Clue/Label Overlap need an LLM judge: mmscore emotion emer --base-url ...)")
    return lines
