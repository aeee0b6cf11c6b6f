// The lesson's Logic Verification form, answered in place. Without this file the form posts
// and the page reloads (progressive enhancement); with it, the same POST is sent with
// `Accept: application/json` and the feedback, the Graph Matrix and the step list update inline.
// No inline scripts or handlers (CSP).
(function () {
  "use strict";
  // "Start over" asks first: it forgets every answer.
  document.querySelectorAll("form[data-confirm]").forEach(function (reset) {
    reset.addEventListener("submit", function (event) {
      if (!window.confirm(reset.dataset.confirm)) event.preventDefault();
    });
  });
})();

(function () {
  "use strict";
  var form = document.getElementById("verify-form");
  if (!form || !window.fetch) return;
  var feedback = document.getElementById("feedback");
  var nextLink = document.getElementById("next-link");
  var button = document.getElementById("check-button");
  var graph = document.getElementById("graph-matrix");
  var lesson = document.querySelector(".lesson");

  function setFeedback(kind, message, moreHtml) {
    feedback.className = "feedback " + kind;
    feedback.textContent = "";
    var p = document.createElement("p");
    p.className = "feedback-message";
    p.textContent = message;
    feedback.appendChild(p);
    if (moreHtml) {
      var more = document.createElement("div");
      more.className = "prose feedback-more";
      more.innerHTML = moreHtml; // server-rendered, sanitised markdown
      feedback.appendChild(more);
      if (window.gradhubRenderMath) window.gradhubRenderMath(more);
      if (window.gradhubCopyButtons) window.gradhubCopyButtons(more);
    }
  }

  function markNav(stepNumber, nextUrl) {
    var item = document.querySelector('[data-step-nav="' + stepNumber + '"]');
    if (item && !item.classList.contains("done")) {
      item.classList.remove("open");
      item.classList.add("done");
      var check = document.createElement("span");
      check.className = "nav-check";
      check.setAttribute("aria-label", "done");
      check.textContent = "✓";
      item.appendChild(check);
    }
    var next = document.querySelector('[data-step-nav="' + (stepNumber + 1) + '"]');
    if (next && nextUrl && next.classList.contains("locked")) {
      var span = next.querySelector("span[aria-disabled]");
      var link = document.createElement("a");
      link.href = nextUrl;
      link.textContent = span ? span.firstChild.textContent.trim() : "Next step";
      next.textContent = "";
      next.appendChild(link);
      next.classList.remove("locked");
      next.classList.add("open");
    }
  }

  function updateProgress() {
    var bar = document.querySelector(".progress-bar");
    if (!bar || !lesson) return;
    var total = parseInt(lesson.dataset.total, 10);
    var done = document.querySelectorAll(".step-nav li.done").length;
    bar.setAttribute("aria-valuenow", String(done));
    bar.firstElementChild.style.width = Math.round((100 * done) / total) + "%";
  }

  function replaceGraph(html, unlocked) {
    if (!graph || !html) return;
    graph.innerHTML = html; // server-rendered template
    (unlocked || []).forEach(function (id) {
      var node = graph.querySelector('[data-node="' + id + '"]');
      if (node) node.classList.add("just-unlocked");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (data) { return { status: response.status, data: data }; });
      })
      .then(function (result) {
        var data = result.data;
        if (data.error) {
          setFeedback("bad", data.error);
          return;
        }
        if (!data.correct) {
          setFeedback("bad", data.message);
          var input = form.querySelector("#answer-input");
          if (input) input.focus();
          return;
        }
        var step = parseInt(lesson.dataset.step, 10);
        form.classList.add("is-done");
        setFeedback("ok", data.message, data.feedback_html);
        replaceGraph(data.graph_html, data.unlocked);
        markNav(step, data.next_url);
        updateProgress();
        if (data.next_url) {
          nextLink.href = data.next_url;
          nextLink.classList.remove("is-hidden");
          nextLink.focus();
        } else if (data.complete) {
          window.location.reload(); // the final step: show the completed page
        }
      })
      .catch(function () {
        setFeedback("bad", "Could not reach the server. Check your connection and try again.");
      })
      .then(function () {
        button.disabled = false;
      });
  });
})();
