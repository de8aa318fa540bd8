"""The results page draws its ROC plot in the browser: one curve per reader and arm, the
operating points before and after AI joined by arrows, a legend, and a print layout."""

import random
import sys
import types

import pytest

from base.roles import Role
from studies.models import ReaderStudy
from studies.reading.imported import parse_readings, reader_study_import
from studies.results.sources import ResultSource
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

READERS = ("r1", "r2", "r3", "r4")


def _readings(decisions=True) -> bytes:
    """4 readers x 2 arms x 40 cases (15 diseased), seeded; with AI the readers separate better."""
    rng = random.Random(7)
    case_effect = [rng.gauss(0, 0.6) for _ in range(40)]
    lines = ["reader,case,modality,truth,rating" + (",decision" if decisions else "")]
    for modality in ("unaided", "aided"):
        for r, reader in enumerate(READERS):
            for case in range(40):
                truth = int(case < 15)
                separation = 1.2 if modality == "unaided" else 2.0
                latent = separation * truth + case_effect[case] + rng.gauss(0, 0.8)
                rating = min(100, max(0, round(40 + 20 * latent)))
                decision = int(rating >= 55 + 5 * r)
                lines.append(
                    f"{reader},k{case},{modality},{truth},{rating}"
                    + (f",{decision}" if decisions else "")
                )
    return ("\n".join(lines) + "\n").encode()


def _sign_in(page, live_server, next_url):
    UserFactory(username="coord", role=Role.COORDINATOR)
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("#id_username", "coord")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_the_roc_plot_draws_each_reader_per_arm_and_the_arrows(page, live_server):
    study = reader_study_import(name="Browser study", data=_readings(), reference="unaided")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(page, live_server, f"/studies/imported/{study.pk}/results/")
    page.wait_for_selector("#roc-plot path.roc-curve")
    curves = page.locator("#roc-plot path.roc-curve")
    assert curves.count() == len(READERS) * 2
    drawn = {
        (curves.nth(i).get_attribute("data-reader"), curves.nth(i).get_attribute("data-modality"))
        for i in range(curves.count())
    }
    assert drawn == {(r, m) for r in READERS for m in ("unaided", "aided")}
    # Dashed in the reference arm, solid in the other.
    for i in range(curves.count()):
        dashed = curves.nth(i).get_attribute("stroke-dasharray") is not None
        assert dashed == (curves.nth(i).get_attribute("data-modality") == "unaided")
        assert curves.nth(i).get_attribute("d").startswith("M")
    arrows = page.locator("#roc-plot line.op-arrow")
    assert arrows.count() == len(READERS)
    assert {arrows.nth(i).get_attribute("data-reader") for i in range(len(READERS))} == set(READERS)
    assert page.locator("#roc-plot line.op-arrow[marker-end]").count() >= 1
    assert page.locator("#roc-plot circle.op-point.before").count() == len(READERS)
    assert page.locator("#roc-plot circle.op-point.after").count() == len(READERS)
    assert page.locator("#roc-plot line.roc-diagonal").count() == 1
    legend = page.locator("#roc-legend li").all_inner_texts()
    assert any("Reader r1 (AUC unaided 0." in text for text in legend), legend
    assert any("before → after" in text for text in legend)
    # The arrow goes from the unaided point to the aided one of the same reader.
    first = page.evaluate(
        """() => {
          const arrow = document.querySelector('#roc-plot line.op-arrow[data-reader="r1"]');
          const before = document.querySelector('#roc-plot circle.before[data-reader="r1"]');
          return [arrow.getAttribute('x1'), before.getAttribute('cx'),
                  arrow.getAttribute('y1'), before.getAttribute('cy')].map(Number);
        }"""
    )
    assert first[0] == pytest.approx(first[1]) and first[2] == pytest.approx(first[3])
    # Hovering a reader in the legend brings their curves forward.
    page.hover("#roc-legend li[data-reader='r2']")
    assert page.locator("#roc-plot.focus path.roc-curve.focused").count() == 2
    # Print: no navigation, the plot on white.
    page.mouse.move(0, 0)
    page.emulate_media(media="print")
    assert not page.locator(".topbar").is_visible()
    background = page.evaluate(
        "getComputedStyle(document.getElementById('roc-plot')).backgroundColor"
    )
    assert background == "rgb(255, 255, 255)"
    assert errors == []


def test_without_decisions_there_are_curves_but_no_operating_points(page, live_server):
    study = reader_study_import(name="Ratings only", data=_readings(decisions=False))
    _sign_in(page, live_server, f"/studies/imported/{study.pk}/results/")
    page.wait_for_selector("#roc-plot path.roc-curve")
    assert page.locator("#roc-plot path.roc-curve").count() == len(READERS) * 2
    assert page.locator("#roc-plot line.op-arrow").count() == 0
    assert page.locator("#roc-plot circle.op-point").count() == 0
    assert page.locator("#no-decisions").is_visible()


def test_a_designed_study_shows_the_ai_alone_curve_and_point(page, live_server, monkeypatch):
    readings = parse_readings(_readings()).readings
    rng = random.Random(3)
    ai_by_case = {}
    for reading in readings:
        score = reading.truth * 1.8 + rng.gauss(0, 1)
        ai_by_case.setdefault(reading.case, (score, int(score > 1)))
    source = ResultSource("AI study", readings, "unaided", ai_by_case)
    # The design area's bridge, replaced by its contract (a ResultSource).
    module = types.ModuleType("studies.results.designed_reads")
    module.designed_study_source = lambda study: source
    monkeypatch.setitem(sys.modules, "studies.results.designed_reads", module)
    study = ReaderStudy.objects.create(name="AI study", seed=1)
    _sign_in(page, live_server, f"/studies/designed/{study.pk}/results/")
    page.wait_for_selector("#roc-plot path.roc-curve-ai")
    assert page.locator("#roc-plot path.roc-curve").count() == len(READERS) * 2
    assert page.locator("#roc-plot path.op-point-ai").count() == 1
    assert page.locator("#roc-plot line.op-arrow").count() == len(READERS)
    assert any(
        text.strip().startswith("AI alone (AUC 0.")
        for text in page.locator("#roc-legend li").all_inner_texts()
    )
    assert page.locator("#results-table tr[data-kind='ai']").count() == 1
