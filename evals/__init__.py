"""Evaluation harness for jupyter-codegen's completions: ``python -m evals``.

See evals/README.md.
"""
