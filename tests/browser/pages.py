"""What every browser test checks on every page: accessibility and a 320 px wide screen."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

_axe = Axe()


def serious_violations(page) -> list[str]:
    """axe-core violations of impact serious or critical, as readable lines, on the page as it
    settles: a colour caught halfway through a transition (an answer just chosen) once failed
    the contrast check though neither end of the transition does."""
    page.evaluate("() => Promise.allSettled(document.getAnimations().map(a => a.finished))")
    results = _axe.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]


def horizontal_overflow_at_320(page) -> int:
    """Pixels of horizontal scroll the page needs on a 320 px wide screen (0 = none)."""
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": size["height"]})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.set_viewport_size(size)
    return overflow


def check(page, shoot, name: str) -> None:
    shoot(page, name)
    violations = serious_violations(page)
    assert violations == [], (name, violations)
    assert horizontal_overflow_at_320(page) <= 0, name
