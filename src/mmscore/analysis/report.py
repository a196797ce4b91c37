"""Markdown report of ``mmscore analyze stats``: tables that paste into a paper, plus the caveats.

Built only from the ``stats.json`` dict, so the report and the JSON can never disagree.
"""

from __future__ import annotations

from typing import Any

DASH = "—"


def _f(value: Any, digits: int = 3) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _p_text(value: float | None) -> str:
    """``p = 0.012`` or ``p < 0.001`` for running text."""
    text = _p(value)
    return "p " + text.replace("<", "< ") if text.startswith("<") else f"p = {text}"


def _ci(entry: dict[str, Any] | None, digits: int = 3) -> str:
    if not entry or not entry.get("ci"):
        return DASH
    lo, hi = entry["ci"]
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def _pct(value: float | None) -> str:
    return DASH if value is None else f"{100 * value:.1f}%"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in counts.items()) or "none"


def markdown_report(res: dict[str, Any]) -> str:
    """The full report for one A-vs-B comparison."""
    conf = int(round(100 * res["settings"]["confidence"]))
    out = _items_section(res)
    out += _scores_table(res, conf)
    out += _agreement_table(res, conf)
    out += _differences_table(res)
    out += _precision_section(res, conf)
    out += _domain_table(res, conf)
    out += _notes_and_figures(res)
    return "\n".join(out)


def _items_section(res: dict[str, Any]) -> list[str]:
    """Title, settings line, and what was scored, excluded and paired."""
    a, b = res["a"]["name"], res["b"]["name"]
    s = res["settings"]
    pr = res["pairing"]
    out = [
        f"# Agreement between `{a}` (A) and `{b}` (B)",
        "",
        f"Differences are A − B. Binary success means score ≥ {s['success_threshold']}. "
        f"Bootstrap: {s['n_boot']} resamples, seed {s['seed']}. Signature: `{res['signature']}`.",
        "",
        "## Items",
        "",
    ]
    out += _table(
        ["", "A", "B"],
        [
            ["scoring files", str(res["a"]["files"]), str(res["b"]["files"])],
            ["excluded (not scored 0)", _reasons(res["a"]["excluded"]), _reasons(res["b"]["excluded"])],
        ],
    )
    out += [
        "",
        f"**{res['n_pairs']} items paired** on ({', '.join(pr['key'])}). Not paired: "
        f"{pr['only_in_a']} only in A, {pr['only_in_b']} only in B, {pr['excluded_in_a']} excluded in A "
        f"({_reasons(pr['excluded_reasons']['a'])}), {pr['excluded_in_b']} excluded in B "
        f"({_reasons(pr['excluded_reasons']['b'])}), {pr['excluded_in_both']} excluded in both. "
        f"Rule: {pr['rule']}. Pairing: {pr['key_rule']}.",
        "",
    ]
    return out


def _scores_table(res: dict[str, Any], conf: int) -> list[str]:
    """Table 1: descriptives of each side's paired scores."""
    out = ["## Table 1. Scores of the paired items", ""]
    rows = []
    for label, name in (("a", res["a"]["name"]), ("b", res["b"]["name"])):
        d = res["descriptives"][label]
        ci = d.get("success_ci")
        rate = _pct(d.get("success_rate")) + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")
        rows.append([f"{name}", str(d["n"]), _f(d["mean"], 2), _f(d["sd"], 2), _f(d["median"], 1), rate])
    out += _table(["Scorer", "n", "Mean", "SD", "Median", f"Success rate [{conf}% Wilson CI]"], rows)
    return out


AGREEMENT_ROWS = (
    ("Pearson r", "pearson"),
    ("Spearman ρ", "spearman"),
    ("Kendall τ_b", "kendall_tau_b"),
    ("Cohen's κ (1–5, unweighted)", "cohen_kappa"),
    ("Cohen's κ (1–5, quadratic)", "quadratic_weighted_kappa"),
    ("Cohen's κ (binary success)", "binary_kappa"),
    ("Krippendorff's α (ordinal, all raters)", "krippendorff_alpha_ordinal"),
    ("Krippendorff's α (ordinal, A's annotators)", "krippendorff_alpha_ordinal_a_annotators"),
    ("Krippendorff's α (ordinal, B's annotators)", "krippendorff_alpha_ordinal_b_annotators"),
)


def _agreement_table(res: dict[str, Any], conf: int) -> list[str]:
    """Table 2: correlations, kappas and alphas that were computed (absent ones are left out)."""
    out = ["", f"## Table 2. Agreement ({conf}% CIs)", ""]
    rows = []
    for label, key in AGREEMENT_ROWS:
        entry = res.get(key)
        if entry is None:
            continue
        rows.append(
            [
                label,
                _f(entry["statistic"]),
                _ci(entry),
                _p(entry.get("p_value")),
                str(entry["n"]),
                entry.get("interpretation") or "",
                entry.get("note") or "",
            ]
        )
    out += _table(["Measure", "Estimate", "CI", "p", "n", "Landis–Koch", "Note"], rows)
    return out


def _differences_table(res: dict[str, Any]) -> list[str]:
    """Table 3: mean difference, paired t, Wilcoxon, McNemar and TOST."""
    s = res["settings"]
    out = ["", "## Table 3. Differences between A and B", ""]
    md, t, w, mc, tost = (res[k] for k in ("bootstrap_mean_diff", "paired_t", "wilcoxon", "mcnemar", "tost"))
    w_eff = (w.get("effect_size") or {}).get("value")
    t_eff = (t.get("effect_size") or {}).get("value")
    rows = [
        ["Mean difference (BCa bootstrap)", _f(md["statistic"]), DASH, _ci(md), md["method"]],
        [
            "Paired t-test",
            _f(t["statistic"]),
            _p(t["p_value"]),
            f"d_z = {_f(t_eff)}; t CI {_ci(t)}",
            t["method"],
        ],
        ["Wilcoxon signed-rank", _f(w["statistic"], 1), _p(w["p_value"]), f"r_rb = {_f(w_eff)}", w["method"]],
        [
            "McNemar (binary success)",
            _f(mc["statistic"]),
            _p(mc["p_value"]),
            f"only A succeeds {mc.get('a_only_success', DASH)}, only B {mc.get('b_only_success', DASH)}",
            mc["method"],
        ],
        [
            f"TOST (±{s['margin']:g})",
            _f(tost["statistic"]),
            _p(tost["p_value"]),
            f"{int(round(100 * (tost.get('confidence') or 0)))}% CI {_ci(tost)}",
            tost["method"],
        ],
    ]
    out += _table(["Test", "Statistic", "p", "Effect size / interval", "Method"], rows)
    return out


def _precision_section(res: dict[str, Any], conf: int) -> list[str]:
    """The equivalence verdict and how many items a target interval width needs."""
    out = ["", "## Equivalence and precision", ""]
    out += [_equivalence_sentence(res["tost"], res["settings"]["margin"]), ""]
    curve = res["precision_curve"]
    if curve.get("n"):
        needs = ", ".join(
            f"±{t} needs {n if n is not None else '> 10^7'} items" for t, n in curve["n_required"].items()
        )
        out += [
            f"With {curve['n_observed']} pairs the expected {conf}% CI half-width of the mean difference is "
            f"{curve['observed_half_width']:.3f} points (sd of differences {curve['sd_difference']:.3f}). "
            f"Planning estimate, assuming new items vary like these: {needs}.",
            "",
        ]
    else:
        out += [curve.get("note") or "", ""]
    return out


def _domain_table(res: dict[str, Any], conf: int) -> list[str]:
    """Table 4: per-domain means, differences and agreement (nothing when no domain was paired)."""
    if not res["by_domain"]:
        return []
    out = ["## Table 4. By domain", ""]
    rows = [
        [
            r["domain"],
            str(r["n"]),
            _f(r["mean_a"], 2),
            _f(r["mean_b"], 2),
            _f(r["mean_difference"], 2),
            _ci({"ci": r["mean_difference_ci"]}, 2),
            _pct(r["success_rate_a"]),
            _pct(r["success_rate_b"]),
            _pct(r["binary_agreement"]),
            _f(r["quadratic_weighted_kappa"], 2),
        ]
        for r in res["by_domain"]
    ]
    out += _table(
        [
            "Domain",
            "n",
            "Mean A",
            "Mean B",
            "A − B",
            f"{conf}% t CI",
            "Success A",
            "Success B",
            "Same success label",
            "Quadratic κ",
        ],
        rows,
    )
    out += [""]
    return out


def _notes_and_figures(res: dict[str, Any]) -> list[str]:
    """Every statistic's caveat note, then the figure files written beside the report."""
    out: list[str] = []
    notes = [
        f"- `{k}`: {v['note']}"
        for k, v in res.items()
        if isinstance(v, dict) and v.get("note") and k != "precision_curve"
    ]
    if notes:
        out += ["## Notes", "", *notes, ""]
    figures = [p for p in res.get("files", []) if p.endswith(".png")]
    if figures:
        out += ["## Figures", "", *[f"- `{p}`" for p in figures], ""]
    return out


def _equivalence_sentence(tost: dict[str, Any], margin: float) -> str:
    if tost["p_value"] is None:
        return f"Equivalence within ±{margin:g} points could not be tested: {tost['note']}."
    ci = _ci(tost)
    if tost.get("equivalent"):
        return (
            f"Equivalent within ±{margin:g} points (TOST {_p_text(tost['p_value'])}; the "
            f"{int(round(100 * tost['confidence']))}% CI of the mean difference, {ci}, "
            "lies inside the margin)."
        )
    text = (
        f"Equivalence within ±{margin:g} points is **not** shown (TOST {_p_text(tost['p_value'])}; "
        f"{int(round(100 * tost['confidence']))}% CI {ci}). Not significant ≠ equivalent."
    )
    needed = tost.get("n_items_for_equivalence")
    if needed:
        text += (
            f" If the mean difference and its spread stay as observed, about {needed} paired items "
            "would show it."
        )
    elif tost.get("note"):
        text += f" {tost['note']}."
    return text


def headline(res: dict[str, Any]) -> list[str]:
    """A few console lines summarising a stats result (CLI and demo)."""

    def num(entry: dict, digits: int = 3) -> str:
        value = entry.get("statistic")
        ci = entry.get("ci")
        text = "n/a" if value is None else f"{value:.{digits}f}"
        if ci:
            text += f" [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"
        if value is None and entry.get("note"):
            text += f" ({entry['note']})"
        return text

    p = res["pairing"]
    tost = res["tost"]
    alpha = res["krippendorff_alpha_ordinal"]
    verdict = (
        ("equivalent" if tost.get("equivalent") else "not shown equivalent")
        if tost["p_value"] is not None
        else "not testable"
    )
    return [
        f"{res['n_pairs']} paired items ({p['only_in_a']} only in A, {p['only_in_b']} only in B, "
        f"{p['excluded_in_a'] + p['excluded_in_b'] + p['excluded_in_both']} excluded as "
        f"skipped/failed/invalid); {p['key_rule']}",
        f"mean difference A-B {num(res['bootstrap_mean_diff'])} (BCa); "
        f"TOST ±{res['settings']['margin']:g}: {verdict}",
        f"Spearman {num(res['spearman'])}; quadratic kappa {num(res['quadratic_weighted_kappa'])}; "
        f"binary kappa {num(res['binary_kappa'])}",
        f"Krippendorff alpha (ordinal) over {_raters_label(alpha.get('measured_raters', []))}: {num(alpha)}",
        *[f"broken scoring file in {side.upper()}: {reason}: {path}"
          for side in ("a", "b") for reason, paths in res[side].get("broken_files", {}).items() for path in paths],
    ]


def _raters_label(raters: list[str]) -> str:
    """Whose raters an alpha measures, e.g. ``A's 1 and B's 2 raters`` (``A:``/``B:`` prefixes)."""
    counts = {side: sum(r.startswith(f"{side}:") for r in raters) for side in ("A", "B")}
    parts = [f"{side}'s {n}" for side, n in counts.items() if n]
    return (" and ".join(parts) or "no") + " rater" + ("" if sum(counts.values()) == 1 else "s")
