import pytest

from conveyor.testing.browser import read_dom, screenshot


def test_screenshot_reads_the_rendered_page_back(tmp_path):
    clean = tmp_path / "clean.html"
    clean.write_text("<html><head><title>Run report</title></head><body><h1 id='h'>Static</h1>"
                     "<svg width='10' height='10'><rect width='10' height='10'/></svg>"
                     "<script>document.getElementById('h').textContent = 'Drawn by the page';</script></body></html>")
    shot = screenshot(clean, tmp_path / "clean.png", height=600)
    assert shot.png.read_bytes().startswith(b"\x89PNG")
    assert shot.console == []
    # the DOM after the page's own script ran: a static file or an error page would not say this
    assert shot.title == "Run report" and shot.headings == ["Drawn by the page"]
    assert "Static" not in shot.text and "<rect" in shot.dom

    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>undefinedFunction()</script></body></html>")
    shot = screenshot(broken, tmp_path / "broken.png", height=600)
    assert any("undefinedFunction" in line for line in shot.console)


@pytest.mark.parametrize("what", ["html text", "missing file", "folder"])
def test_screenshot_refuses_anything_but_an_existing_file(tmp_path, what):
    target = {"html text": "<html><body><h1>Report</h1></body></html>", "missing file": tmp_path / "nope.html",
              "folder": tmp_path}[what]
    with pytest.raises(FileNotFoundError, match="existing HTML file"):
        screenshot(target, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_read_dom_skips_scripts_and_collapses_whitespace():
    title, headings, text = read_dom("<html><head><title> A\n report </title><style>h1{}</style></head><body>"
                                     "<h2>Drift  by <b>column</b></h2><script>var x = '<h1>no</h1>'</script>"
                                     "<svg><rect><title>tip</title></rect></svg><p>rows: 3</p></body></html>")
    assert (title, headings, text) == ("A report", ["Drift by column"], "Drift by column rows: 3")
