"""macro-bench: self-generated counterfactual explanations of LLMs in 205 languages.

Kept import-free on purpose: the start-up hook imports this package in every
Python process, so anything heavy belongs in the submodules.
"""

__version__ = "0.2.0"
