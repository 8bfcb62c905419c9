"""The comparison with Géron's published numbers and the test of which architecture suits which dataset."""

from bench import config, geron
from tests.helpers import make_scores

GERON_EPOCHS = {"stacked": 20, "conv": 10, "recurrent": 10}
FULL = config.PROFILES["full"]


def test_claims_answered_from_each_datasets_ranking():
    scores = make_scores(
        {
            ("fashion_mnist", "stacked"): 0.0140,
            ("fashion_mnist", "conv"): 0.0110,
            ("fashion_mnist", "recurrent"): 0.0150,
            ("mnist", "stacked"): 0.0100,
            ("mnist", "conv"): 0.0120,
            ("mnist", "recurrent"): 0.0200,
        },
        GERON_EPOCHS,
    )
    lines = geron.suitability_lines(scores)
    assert len(lines) == 2
    conv, recurrent = lines
    assert conv.startswith('- "The conv model suits Fashion-MNIST" holds: on Fashion-MNIST the conv model has the lowest mean test MSE (0.0110)')
    assert conv.endswith("beats both others beyond the seed noise.")
    assert recurrent.startswith('- "The recurrent model suits MNIST" does not hold.')
    assert "the recurrent model ranks 3 of 3 by mean test MSE (0.0200; lowest mean 0.0100, stacked)" in recurrent
    assert "the stacked model is ahead of it by 0.0" in recurrent
    assert recurrent.endswith(", beyond the seed noise (Holm-adjusted p < 0.001).")


def test_claim_within_the_noise_is_not_shown():
    scores = make_scores(
        {("mnist", "stacked"): 0.01000, ("mnist", "conv"): 0.0130, ("mnist", "recurrent"): 0.01001},
        GERON_EPOCHS,
    )
    (line,) = geron.suitability_lines(scores)
    assert "is not shown: it ties for the lowest test MSE" in line
    assert "; it is ahead of the stacked model by 0.0001, within the seed noise (Holm-adjusted p = " in line


def test_published_table_sets_ours_beside_the_book():
    scores = make_scores(
        {("fashion_mnist", "stacked"): 0.0132, ("fashion_mnist", "conv"): 0.0150, ("fashion_mnist", "recurrent"): 0.0208},
        GERON_EPOCHS,
    )
    lines = geron.comparison_lines(scores, FULL, {30})
    table = [line for line in lines if line.startswith("| ")]
    assert table[0].startswith("| architecture | Géron: epochs | Géron: validation MSE | ours: epochs")
    stacked = next(line for line in table if line.startswith("| stacked "))
    cells = [cell.strip() for cell in stacked.strip("|").split("|")]
    assert cells[1:4] == ["20", "0.0132", "20"]
    assert cells[4].startswith("0.0134 ± ")
    assert cells[5] == "1.02"
    recurrent = next(line for line in table if line.startswith("| recurrent "))
    assert "| 2.02 |" in recurrent
    # Optimizer and batch size always differ from the book's; nothing else does in the full profile.
    assert lines[0].endswith("Our setup differs from the book's: Adam at 0.001 instead of Nadam; batches of 64 instead of 32.")
    assert lines[-1].startswith("By mean, the book's order, best first, is recurrent, conv, stacked; ours is stacked, conv, recurrent, which differs.")


def test_published_table_lists_differences():
    scores = make_scores(
        {("fashion_mnist", "stacked"): 0.0132, ("fashion_mnist", "conv"): 0.0121, ("fashion_mnist", "recurrent"): 0.0104},
        {"stacked": 6, "conv": 6, "recurrent": 6},
    )
    lines = geron.comparison_lines(scores, config.PROFILES["quick"], {12})
    for phrase in (
        "Adam at 0.002 instead of Nadam",
        "20,000 training images instead of 55,000",
        "other epoch counts than the book's",
        "early stopping, with the best epoch's weights kept",
        "codings size 12 instead of 30",
        "only the order can be compared, so no ratio is given",
    ):
        assert phrase in lines[0], phrase
    assert all(line.split("|")[6].strip() == "–" for line in lines if line.startswith("| ") and "---" not in line and "architecture" not in line)
    assert "ours is recurrent, conv, stacked, the same." in lines[-1]


def test_published_table_single_run_smoke():
    scores = make_scores({("fashion_mnist", "stacked"): 0.0300}, {"stacked": 1, "conv": 1, "recurrent": 1})
    one_run = scores[(scores["backend"] == "tensorflow") & (scores["seed"] == 0)]
    lines = geron.comparison_lines(one_run, config.PROFILES["smoke"], {30})
    assert "the test MSE is on the first 1,000 test images" in lines[0]
    # One architecture has no order to compare, and one run has no interval.
    assert not any(line.startswith("By mean") for line in lines)
    assert lines[-1].startswith("| stacked |")


def test_published_order_without_intervals():
    scores = make_scores(
        {("fashion_mnist", "stacked"): 0.0132, ("fashion_mnist", "conv"): 0.0121},
        {"stacked": 20, "conv": 10, "recurrent": 10},
    )
    one_run = scores[(scores["backend"] == "tensorflow") & (scores["seed"] == 0)]
    lines = geron.comparison_lines(one_run, FULL, {30})
    assert "the test MSE is on the 10,000 test images" in lines[0]
    assert lines[-1] == "By mean, the book's order, best first, is conv, stacked; ours is conv, stacked, the same."


def model_record(dataset: str, architecture: str, val_losses: list[float], status: str = "ok") -> dict:
    return {
        "kind": "model",
        "status": status,
        "dataset": dataset,
        "architecture": architecture,
        "training": {"history": {"loss": val_losses, "val_loss": val_losses}},
    }


def test_settling_line_names_the_models_still_learning():
    records = [
        model_record("fashion_mnist", "stacked", [0.0200, 0.0110, 0.01098]),
        model_record("fashion_mnist", "stacked", [0.0200, 0.0110, 0.01100]),
        # A fall of 5% and one of 3%: a mean of 4%.
        model_record("fashion_mnist", "conv", [0.0300, 0.0200, 0.0190]),
        model_record("fashion_mnist", "conv", [0.0300, 0.0200, 0.0194]),
        model_record("mnist", "recurrent", [0.0200, 0.0100, 0.0101]),
        # Ignored: a failed run, and a run with one epoch.
        model_record("mnist", "conv", [0.0300, 0.0100], status="failed"),
        model_record("mnist", "stacked", [0.0300]),
        {"kind": "reference", "status": "ok", "dataset": "mnist", "architecture": "mean_image"},
    ]
    line = geron.settling_line(records)
    assert line.startswith(
        "Over its last epoch, the validation MSE of a run changed on average by: "
        "MNIST: recurrent +1.0%; Fashion-MNIST: stacked −0.1%, conv −4.0%."
    )
    assert "Still learning (a fall of 1% or more): Fashion-MNIST conv." in line
    assert line.endswith("so the answers above hold for this training budget.")


def test_settling_line_when_every_model_has_settled():
    records = [
        model_record("mnist", "stacked", [0.0200, 0.0100, 0.00995]),
        model_record("mnist", "conv", [0.0200, 0.0100, 0.0102]),
    ]
    line = geron.settling_line(records)
    assert "MNIST: stacked −0.5%, conv +2.0%." in line
    assert "Still learning" not in line
    assert line.endswith("so longer training is unlikely to change the ranking much.")


def test_settling_line_is_empty_without_histories():
    assert geron.settling_line([model_record("mnist", "stacked", [0.01])]) == ""
    assert geron.settling_line([]) == ""


def test_claims_untested_with_one_run():
    # One backend and one seed leave no spread to test a gap against.
    scores = make_scores(
        {("mnist", "stacked"): 0.0080, ("mnist", "conv"): 0.0094, ("mnist", "recurrent"): 0.00762},
        GERON_EPOCHS,
    )
    scores = scores[(scores["backend"] == "tensorflow") & (scores["seed"] == 0)]
    (line,) = geron.suitability_lines(scores)
    assert line.startswith('- "The recurrent model suits MNIST" cannot be tested with one run per architecture.')
    assert "the recurrent model ranks 1 of 3 by test MSE (0.0076; lowest 0.0076, recurrent)" in line
