"""Forum pages, one module per resource. Thin: parse input, call one service or selector,
render or redirect. urls.py imports the views from their modules."""
