"""bench/compare.py --widths times per-sample SGD of 784-H-10 at each width, and --json writes
the run as data with its CPU, load and date (the docs' Performance plot reads such a file)."""
import json

import pytest

from fastmlp._bench import benchmark


def test_width_sweep_written_as_json(tmp_path, capsys):
    path = tmp_path / "widths.json"
    assert benchmark.main(["--quick", "--widths", "8,24", "--peers", "fastmlp,numpy", "--json", str(path)]) == 0
    run = json.loads(path.read_text())
    assert run["cpu"] and run["date"] and len(run["load_average_at_end"]) == 3 and run["threads"] == 1
    assert run["machine"][0].startswith("machine: ")
    rows = {(r["workload"], r["implementation"]): r for r in run["results"]}
    assert set(rows) == {(w, p) for w in ("H8", "H24") for p in ("fastmlp", "numpy")}
    for (workload, _), r in rows.items():
        assert r["sizes"] == [784, int(workload[1:]), 10] and r["batch_size"] == 1 and r["dtype"] == "float32"
        assert r["samples_per_second"] > 0 and len(r["rates"]) == 2
    assert "H8 784-8-10 float32 batch 1" in capsys.readouterr().out


@pytest.mark.parametrize("widths", ["", "8,x", "0,16"])
def test_bad_widths_are_refused(widths, capsys):
    if not widths:  # without --widths: the named workloads
        assert benchmark.parse_args(["--workloads", "W1"]).workloads == ["W1"]
        return
    with pytest.raises(SystemExit):
        benchmark.parse_args(["--widths", widths])
    assert "--widths" in capsys.readouterr().err
