"""Regional and trust reports (issue 5): Markdown and self-contained HTML, with offline charts."""
