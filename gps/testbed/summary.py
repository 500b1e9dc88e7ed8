"""Human-readable summaries of a run, made from its logged records."""


def before_after_table(summary: dict) -> str:
    """Markdown table: each eval metric at the first and the last evaluation."""
    before, after = summary["initial_eval"], summary["final_eval"]
    rows = [
        "| metric | before (step 0) | after (step %d) | change |" % after["step"],
        "|---|---|---|---|",
    ]
    for name in sorted(k for k in after if "/" in k):
        rows.append(
            f"| {name} | {before[name]:.3f} | {after[name]:.3f} | {after[name] - before[name]:+.3f} |"
        )
    rows.append(
        f"\n{summary['steps']} RL steps, {summary['rollouts']:,} rollouts, "
        f"{summary['wall_s']:.0f}s training wall-clock (evaluation excluded)"
    )
    return "\n".join(rows)
