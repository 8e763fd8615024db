from conveyor.testing.browser import screenshot


def test_screenshot_renders_and_reports_console_errors(tmp_path):
    clean = tmp_path / "clean.html"
    clean.write_text("<html><body><h1>Report</h1><svg width='10' height='10'><rect width='10' height='10'/></svg>"
                     "</body></html>")
    shot = screenshot(clean, tmp_path / "clean.png", height=600)
    assert shot.png.read_bytes().startswith(b"\x89PNG")
    assert shot.console == []

    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>undefinedFunction()</script></body></html>")
    shot = screenshot(broken, tmp_path / "broken.png", height=600)
    assert any("undefinedFunction" in line for line in shot.console)
