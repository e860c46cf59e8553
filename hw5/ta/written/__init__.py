"""Written answers as one PDF per submission, for Gradescope's question-by-question grading
(``hw5 export-written EXPORT -o OUTDIR --pdf``).

Every PDF has the same pages for the same question (`layout`), so one outline PDF (the prompts with
empty answer space) serves as the Gradescope template. The student's Markdown is rendered without
raw HTML and without any URL but the ``data:`` ones this package makes (`markdown`), math through
Matplotlib's mathtext (`math`), the plots from the notebook's own saved outputs (`notebook`,
`figures`), and the pages by WeasyPrint, which runs offline without TeX or a browser (`pdf`).
"""
