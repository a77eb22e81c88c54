"""Regional and trust reports (issue 5): Markdown and self-contained HTML, with offline charts.

A report is one typed object built from the engine's results (:mod:`.regional` for a region or
an ICB, :mod:`.board` for one trust), then rendered by :mod:`.render` (Jinja templates in
``templates/``) and written by :mod:`.output`; :mod:`.charts` renders its chart offline with
vl-convert. See docs/reports.md.
"""
