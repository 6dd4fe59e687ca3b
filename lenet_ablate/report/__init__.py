"""The report of one sweep or study, from what analysis/ computes: the effects figure and
"Which choices matter" (comparisons, figures), "How each choice trains" (training), per-class
accuracy (classes), the published claims (claims, published), Markdown and HTML (render) and the
whole report (build); `python -m lenet_ablate.report` is the command (__main__). No torch here."""
