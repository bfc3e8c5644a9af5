"""Renderers: a Plan (or an apply result) as text for people, JSON for scripts, Markdown for
pull requests. They return strings and print nothing."""
