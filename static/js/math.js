// Renders the math that the server marked up (.math.inline / .math.block) with vendored KaTeX.
// Loaded with `defer` after katex.min.js; no inline scripts (CSP).
(function () {
  "use strict";
  function renderMath(root) {
    if (!window.katex) return;
    root.querySelectorAll(".math.inline, .math.block").forEach(function (el) {
      if (el.dataset.rendered) return;
      var source = el.textContent;
      try {
        window.katex.render(source, el, {
          displayMode: el.classList.contains("block"),
          throwOnError: false,
          trust: false,
          maxExpand: 1000,
          maxSize: 20,
        });
        el.setAttribute("data-tex", source);
        el.dataset.rendered = "1";
      } catch (err) {
        el.classList.add("math-error");
      }
    });
  }
  window.gradhubRenderMath = renderMath;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { renderMath(document); });
  } else {
    renderMath(document);
  }
  document.addEventListener("htmx:afterSwap", function (event) { renderMath(event.target); });
})();
