"""axe-core, from its npm package (node_modules/, installed by `make test`), run in a Playwright page."""

from pathlib import Path

from django.conf import settings

AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = ("critical", "serious")
RUN_AXE = """async (tags) => {
    const results = await axe.run(document, {resultTypes: ["violations"], runOnly: {type: "tag", values: tags}});
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(node => node.target.join(" ")),
    }));
}"""


def axe_violations(tab) -> list[dict]:
    """The page's violations; axe must already be in the page (an init script of its context)."""
    return tab.evaluate(RUN_AXE, AXE_TAGS)


def described(violation: dict, where: str) -> str:
    targets = violation["targets"]
    shown = "; ".join(targets[:8]) + (" …" if len(targets) > 8 else "")
    return f"{where}: {violation['impact']} {violation['id']} ({len(targets)}×) {violation['help']}\n      {shown}"
