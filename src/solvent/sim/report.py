"""Outputs of a run, a comparison or a sweep: CSV/Parquet time series, summary JSON, PNG plots and one
self-contained HTML report (plots embedded as base64, no external files or scripts)."""

from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from solvent.sim.runner import SERIES, Result

PLOTS = (("price", "mark", "price and mark", "USD"), ("fund", None, "insurance fund balance", "USDT"),
         ("liquidations", None, "liquidations (cumulative)", "count"),
         ("adl_count", None, "ADL events (cumulative)", "count"),
         ("open_interest", None, "open interest", "BTC"), ("deficits", None, "deficits paid by the fund (cum.)",
                                                            "USDT"))


def write_series_csv(series: dict[str, np.ndarray], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SERIES)
        for row in zip(*(series[key] for key in SERIES), strict=True):
            writer.writerow([int(row[0]), *(f"{value:.10g}" for value in row[1:])])
    return path


def write_series_parquet(series: dict[str, np.ndarray], path: Path, **columns: Any) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({**{key: series[key] for key in SERIES}, **columns})
    pq.write_table(table, path)
    return path


def write_json(data: Any, path: Path) -> Path:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_runs(runs: dict[str, Result], path: Path, title: str) -> Path:
    """One figure of the run(s): price/mark, fund, liquidations, ADL, OI, deficits; a line per run."""
    plt = _pyplot()
    figure, axes = plt.subplots(3, 2, figsize=(12, 10), sharex=True)
    for axis, (key, second, label, unit) in zip(axes.flat, PLOTS, strict=True):
        for name, result in runs.items():
            hours = (result.series["time_s"] - result.path.start_s) / 3600
            axis.plot(hours, result.series[key], label=name if key != "price" else f"{name}: path", linewidth=1)
            if second is not None:
                axis.plot(hours, result.series[second], label=f"{name}: mark", linewidth=0.8, linestyle="--")
        axis.set_title(label)
        axis.set_ylabel(unit)
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    axes[0][1].legend(fontsize=7)
    for axis in axes[-1]:
        axis.set_xlabel("hours from start")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def plot_bars(labels: list[str], values: dict[str, list[float]], path: Path, title: str) -> Path:
    """Grouped bars: one group per label (policy or grid point), one bar per metric (each on its own axis)."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(values), figsize=(4 * len(values), 4))
    for axis, (metric, numbers) in zip(np.atleast_1d(axes), values.items(), strict=True):
        axis.bar(range(len(labels)), numbers, color="tab:blue")
        axis.set_xticks(range(len(labels)))
        axis.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
        axis.set_title(metric, fontsize=9)
        axis.grid(alpha=0.3, axis="y")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def table_html(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return str(value)


def write_html(path: Path, title: str, sections: list[tuple[str, str]], images: list[Path]) -> Path:
    """One self-contained page: `sections` (heading, HTML) then the images inline."""
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f0f0f0}"
             ".note{background:#fff6d6;padding:0.6em 1em;border-left:4px solid #e0b000}img{max-width:100%}")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>"]
    for heading, body in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>{body}")
    for image in images:
        data = base64.b64encode(image.read_bytes()).decode()
        parts.append(f"<p><img alt='{html.escape(image.stem)}' src='data:image/png;base64,{data}'></p>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


SUMMARY_COLUMNS = ["label", "preset", "fund_start", "fund_end", "fund_min", "fund_needed", "liquidations",
                   "liquidated_notional", "deficits", "adl_count", "adl_notional", "socialized_loss", "mark_min"]


def path_note(result: Result) -> str:
    return (f"<p class='note'><b>{html.escape(result.path.label)}</b><br>{html.escape(result.path.source)}</p>")


def write_run_outputs(result: Result, out: Path, *, parquet: bool = True, report: bool = True,
                      scenario: bool = True) -> dict[str, Path]:
    """Everything for one run under `out`: series.csv, series.parquet, summary.json, scenario.json,
    plots.png, report.html."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"csv": write_series_csv(result.series, out / "series.csv"),
             "summary": write_json(result.summary, out / "summary.json")}
    if parquet:
        files["parquet"] = write_series_parquet(result.series, out / "series.parquet")
    if scenario and result.commands:
        files["scenario"] = result.write_scenario(out / "scenario.json")
    if report:
        png = plot_runs({result.summary["name"]: result}, out / "plots.png", result.path.label)
        row = {"label": result.summary["name"], **result.summary}
        files["report"] = write_html(out / "report.html", f"solvent simulation: {result.summary['name']}",
                                     [("Path", path_note(result)), ("Summary", table_html([row], SUMMARY_COLUMNS))],
                                     [png])
        files["png"] = png
    return files


def write_comparison(results: dict[str, Result], out: Path, title: str,
                     extra_sections: list[tuple[str, str]] | None = None) -> dict[str, Path]:
    """One scenario under several policies (or funds): a table and charts side by side."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [{"label": label, **result.summary} for label, result in results.items()]
    labels = list(results)
    bars = plot_bars(labels, {"fund end (USDT)": [float(r["fund_end"]) for r in rows],
                              "deficits (USDT)": [float(r["deficits"]) for r in rows],
                              "ADL notional (USDT)": [float(r["adl_notional"]) for r in rows],
                              "liquidations": [float(r["liquidations"]) for r in rows]},
                     out / "compare_bars.png", title)
    lines = plot_runs(results, out / "compare_series.png", title)
    first = next(iter(results.values()))
    sections = [("Path", path_note(first)), ("Side by side", table_html(rows, SUMMARY_COLUMNS)),
                *(extra_sections or [])]
    files = {"summary": write_json(rows, out / "compare.json"), "bars": bars, "series": lines,
             "report": write_html(out / "report.html", title, sections, [bars, lines])}
    long_rows = []
    for label, result in results.items():
        for k in range(len(result.series["time_s"])):
            long_rows.append([label, *(result.series[key][k] for key in SERIES)])
    with (out / "compare_series.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", *SERIES])
        writer.writerows(long_rows)
    stacked = {key: np.concatenate([result.series[key] for result in results.values()]) for key in SERIES}
    labels_column = [label for label, result in results.items() for _ in range(len(result.series["time_s"]))]
    files["parquet"] = write_series_parquet(stacked, out / "compare_series.parquet", label=labels_column)
    return files


SWEEP_COLUMNS = ["point", "paths", "var_95", "es_95", "var_99", "es_99", "recommended_fund", "p_adl_at_recommended",
                 "p_adl", "mean_liquidations", "mean_deficits"]


def write_sweep(result: dict[str, Any], out: Path, title: str, contrast: dict[str, Result] | None = None
                ) -> dict[str, Path]:
    """Sweep table (per grid point: drawdown VaR/ES, recommended fund, P(ADL)) and charts; with `contrast`
    (runs at the recommended fund and at a much smaller one) their time series side by side."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"summary": write_json(result, out / "sweep.json")}
    rows = result["rows"]
    with (out / "sweep_runs.csv").open("w", newline="", encoding="utf-8") as handle:
        keys = sorted({key for run in result["runs"] for key in run if key != "overrides"})
        writer = csv.writer(handle)
        writer.writerow(["overrides", *keys])
        for run in result["runs"]:
            writer.writerow([json.dumps(run["overrides"], sort_keys=True), *(run.get(k) for k in keys)])
    files["runs_csv"] = out / "sweep_runs.csv"
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, list[Any]] = {"overrides": [json.dumps(run["overrides"], sort_keys=True)
                                                   for run in result["runs"]]}
    for key in keys:
        values = [run.get(key) for run in result["runs"]]
        columns[key] = [None if v is None else (v if isinstance(v, bool | int | float) else str(v)) for v in values]
    pq.write_table(pa.table(columns), out / "sweep_runs.parquet")
    files["runs_parquet"] = out / "sweep_runs.parquet"
    labels = [", ".join(f"{k}={v}" for k, v in row["point"].items()) or "config" for row in rows]
    images = [plot_bars(labels, {"recommended fund (USDT)": [float(r["recommended_fund"] or "nan") for r in rows],
                                 "fund drawdown VaR 95% (USDT)": [float(r["var_95"] or "nan") for r in rows],
                                 "mean liquidations": [r["mean_liquidations"] for r in rows]},
                        out / "sweep_bars.png", title)]
    sections = [("Sweep", f"<p>{len(result['seeds'])} seeded paths per grid point; P(ADL) target "
                          f"{result['adl_target']}; probe fund {html.escape(result['probe_fund'])}.</p>"
                          + table_html(rows, SWEEP_COLUMNS))]
    if contrast:
        first = next(iter(contrast.values()))
        crows = [{"label": label, **r.summary} for label, r in contrast.items()]
        sections.append((f"The recommended fund against a much smaller one (the worst path, seed "
                         f"{result.get('contrast_seed')}; same population)",
                         path_note(first) + table_html(crows, SUMMARY_COLUMNS)))
        images.append(plot_runs(contrast, out / "contrast_series.png", "recommended fund vs a much smaller one"))
        for label, run in contrast.items():
            write_json(run.summary, out / f"contrast_{_slug(label)}.json")
    files["report"] = write_html(out / "report.html", title, sections, images)
    return files


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_")
