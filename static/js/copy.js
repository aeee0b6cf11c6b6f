// A "Copy" button on every code block (posts, glossary snippets, the lesson's main.py).
// Added by script so that without JavaScript there is no button that cannot work.
(function () {
  "use strict";
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // Plain-http hosts have no clipboard API: fall back to the old selection command.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function addButton(pre) {
    var code = pre.querySelector("code");
    if (!code || pre.classList.contains("output") || pre.parentElement.classList.contains("code-copy-wrap")) return;
    var wrap = document.createElement("div");
    wrap.className = "code-copy-wrap";
    pre.parentNode.insertBefore(wrap, pre);
    wrap.appendChild(pre);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "code-copy";
    button.setAttribute("aria-label", "Copy code");
    button.textContent = "Copy";
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      copyText(code.textContent).then(
        function () { button.textContent = "Copied"; status.textContent = "Code copied"; },
        function () { button.textContent = "Press Ctrl+C"; }
      );
      setTimeout(function () { button.textContent = "Copy"; status.textContent = ""; }, 2000);
    });
    wrap.appendChild(button);
    wrap.appendChild(status);
  }

  function addButtons(root) { root.querySelectorAll("pre").forEach(addButton); }
  window.gradhubCopyButtons = addButtons;  // for code that live updates insert
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { addButtons(document); });
  } else {
    addButtons(document);
  }
})();
