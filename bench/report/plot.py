"""Draws the report's plots (bench/report/report.ts builds their data) as SVG with matplotlib.

Reads a JSON list of plots on stdin, writes <dir>/<plot.file> for each: python3 plot.py <dir>
"""
import json
import sys
import textwrap

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "solvermesh"  # stable ids: a regenerated plot diffs only where data changed
plt.rcParams["font.size"] = 9


def draw_hbars(p, out_dir):
    # One bar per figure, labelled on the y axis: long labels (a bench's figure names) fit there.
    points = p["panels"][0]["series"][0]["points"]
    labels = [textwrap.fill(str(x), 70) for x, _ in points]
    ys = [y for _, y in points]
    fig, ax = plt.subplots(figsize=(9.5, 0.9 + 0.42 * len(points) + 0.12 * sum(l.count("\n") for l in labels)))
    pos = list(range(len(points)))[::-1]
    ax.barh(pos, ys, color="#4c72b0")
    ax.set_yticks(pos)
    ax.set_yticklabels(labels, fontsize=6.5)
    for i, y in zip(pos, ys):
        ax.annotate(f" {y:.2f}x", (y, i), ha="left", va="center", fontsize=7)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=0.8)
    if p.get("targetLine") is not None:
        ax.axvline(p["targetLine"], color="#c44e52", linestyle=":", linewidth=1.2, label=f"target {p['targetLine']:.2f}")
        ax.legend(fontsize=7)
    if max(ys) / max(min(ys), 1e-12) > 50:
        ax.set_xscale("log")
    ax.set_xlabel(p["xlabel"])
    ax.set_title(textwrap.fill(p["title"], 100), fontsize=9)
    ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(f"{out_dir}/{p['file']}", format="svg", metadata={"Date": None})
    plt.close(fig)


def draw(p, out_dir):
    if p["kind"] == "hbars":
        return draw_hbars(p, out_dir)
    panels = p["panels"]
    cols = min(len(panels), 3)
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, panel in zip(axes.flat, panels):
        if p["kind"] == "bars":
            for s in panel["series"]:
                labels = [str(x) for x, _ in s["points"]]
                ax.bar(labels, [y for _, y in s["points"]], label=s["label"], color="#4c72b0")
                for i, (_, y) in enumerate(s["points"]):
                    ax.annotate(f"{y:.2f}x", (i, y), ha="center", va="bottom")
        else:
            for s in panel["series"]:
                xs = [x for x, _ in s["points"]]
                ys = [y for _, y in s["points"]]
                if p["kind"] == "cdf":
                    ax.step(xs, ys, where="post", label=s["label"])
                else:
                    ax.plot(xs, ys, marker="o", markersize=3, label=s["label"])
        if p.get("baselineLine"):
            ax.axhline(1.0, color="grey", linestyle="--", linewidth=0.8)
        if p["kind"] == "cdf":
            ax.axvline(1.0, color="grey", linestyle="--", linewidth=0.8)
        if p.get("logx"):
            ax.set_xscale("log")
        if p.get("logy"):
            ax.set_yscale("log")
        ax.set_title(textwrap.fill(panel["title"], 55), fontsize=8)
        ax.set_xlabel(p["xlabel"])
        ax.set_ylabel(p["ylabel"])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle(textwrap.fill(p["title"], 110), fontsize=10)
    fig.tight_layout()
    fig.savefig(f"{out_dir}/{p['file']}", format="svg", metadata={"Date": None})
    plt.close(fig)


def main():
    out_dir = sys.argv[1]
    for p in json.load(sys.stdin):
        draw(p, out_dir)
    print(f"matplotlib {matplotlib.__version__}")


if __name__ == "__main__":
    main()
