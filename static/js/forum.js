// Forum niceties, all progressive: every form works without JavaScript.
// - "similar questions" while typing a title on the ask page
// - tag suggestions (a <datalist>) while typing tags
// - errors from htmx vote buttons shown in a live region
// - a member's own parts of a shared page (the member layer)
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .catch(function () { return { results: [] }; });
  }

  function setupSimilar() {
    var title = document.querySelector("[data-similar-source]");
    var box = document.getElementById("similar-questions");
    if (!title || !box) return;
    var list = box.querySelector("ul");
    var lastQuery = "";
    var update = debounce(function () {
      var q = title.value.trim();
      if (q === lastQuery) return;
      lastQuery = q;
      if (q.length < 8) { box.hidden = true; return; }
      getJSON("/questions/similar/?title=" + encodeURIComponent(q)).then(function (data) {
        list.textContent = "";
        (data.results || []).forEach(function (item) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = item.url;
          a.target = "_blank";
          a.rel = "noopener";
          a.textContent = item.title;
          var meta = document.createElement("span");
          meta.className = "muted";
          meta.textContent = " · " + item.score + " votes · " + item.answer_count +
            (item.answer_count === 1 ? " answer" : " answers") + (item.answered ? " · solved" : "");
          li.appendChild(a);
          li.appendChild(meta);
          list.appendChild(li);
        });
        box.hidden = list.children.length === 0;
      });
    }, 350);
    title.addEventListener("input", update);
    update();
  }

  function setupTagSuggestions() {
    var input = document.querySelector("[data-tag-input]");
    var datalist = document.getElementById("tag-suggestions");
    if (!input || !datalist) return;
    var update = debounce(function () {
      var words = input.value.split(/\s+/);
      var current = words[words.length - 1];
      if (!current) { datalist.textContent = ""; return; }
      var before = words.slice(0, -1).join(" ");
      getJSON("/tags/autocomplete/?q=" + encodeURIComponent(current)).then(function (data) {
        datalist.textContent = "";
        (data.results || []).forEach(function (tag) {
          var option = document.createElement("option");
          option.value = (before ? before + " " : "") + tag.name + " ";
          option.label = tag.name + " (" + tag.question_count + ")";
          datalist.appendChild(option);
        });
      });
    }, 200);
    input.addEventListener("input", update);
  }

  function announce(text) {
    var region = document.getElementById("forum-live");
    if (!region) return;
    region.textContent = text;
    region.hidden = false;
    clearTimeout(announce.timer);
    announce.timer = setTimeout(function () { region.hidden = true; }, 6000);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var text = "That did not work.";
    try { text = JSON.parse(event.detail.xhr.responseText).error || text; } catch (e) { /* keep */ }
    announce(text);
  });

  // The layer's pieces in order; a <template data-each="id:score ..."> holds the pieces of
  // many answers, with {id} and {score} in place of each one's: one copy per pair.
  function layerPieces(layer) {
    var pieces = [];
    layer.querySelectorAll("template[data-target], template[data-each]").forEach(function (piece) {
      if (!piece.dataset.each) { pieces.push(piece); return; }
      var markup = piece.innerHTML;
      piece.dataset.each.split(" ").forEach(function (row) {
        var values = row.split(":");
        var copy = document.createElement("template");
        copy.innerHTML = markup.split("{id}").join(values[0]).split("{score}").join(values[1]);
        copy.content.querySelectorAll("template[data-target]").forEach(function (each) {
          pieces.push(each);
        });
      });
    });
    return pieces;
  }

  // Members get the page every reader gets (hub/forum/page_cache.py) once this browser has
  // shown it runs this script (cookie gh_js); their own parts (hub/forum/views/layer.py), each
  // a <template> naming where it goes, come in the page when the server kept them all, else
  // from one request to /me/layer/.
  function setupMemberLayer() {
    var secure = location.protocol === "https:" ? "; secure" : "";
    document.cookie = "gh_js=1; path=/; max-age=31536000; samesite=lax" + secure;
    var member = /(?:^|;\s*)gh_member=1(?:;|$)/.test(document.cookie);
    // A page rendered for the member has their header already: nothing to put on it.
    var root = document.documentElement;
    function reveal() { root.classList.remove("member-pending"); }
    if (!member || !document.querySelector('.nav-user a[href^="/accounts/login/"]')) {
      reveal();
      return;
    }
    // The page brings the layer when the server kept all of it; else it is asked for.
    var inline = document.getElementById("member-layer");
    var arrived;
    if (inline) {
      inline.remove();
      arrived = Promise.resolve(inline.content);
    } else {
      var question = location.pathname.match(/^\/questions\/(\d+)\//);
      var url = "/me/layer/" + (question ? "questions/" + question[1] + "/" : "");
      arrived = fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          // Parsed in this document, as the page was (<noscript> holds text); the pieces
          // stay inert <template>s until placed, and innerHTML never runs a script.
          var layer = document.createElement("div");
          layer.innerHTML = html;
          return layer;
        });
    }
    arrived
      .then(function (layer) {
        if (layer.querySelector("template[data-reload]")) { location.reload(); return; }
        layerPieces(layer).forEach(function (piece) {
          var target = document.querySelector(piece.dataset.target);
          var content = document.importNode(piece.content, true);
          if (piece.dataset.select) content = content.querySelector(piece.dataset.select);
          if (!target || !content) return;
          var swap = piece.dataset.swap;
          if (swap === "inner") target.replaceChildren(content);
          else if (swap === "append") target.append(content);
          else if (swap === "prepend") target.prepend(content);
          else target.replaceWith(content);
        });
        // The layer's forms come without a token (their parts are kept for the member or
        // for every member): the one in the CSRF cookie, which the layer sets if missing.
        var token = (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1];
        document.querySelectorAll("form[method=post]").forEach(function (form) {
          if (!token) return;
          var present = form.querySelector("input[name=csrfmiddlewaretoken]");
          if (present) {
            if (!present.value) present.value = token;
            return;
          }
          var input = document.createElement("input");
          input.type = "hidden";
          input.name = "csrfmiddlewaretoken";
          input.value = token;
          form.prepend(input);
        });
        if (window.htmx) window.htmx.process(document.body);
        document.dispatchEvent(new CustomEvent("gradhub:layer"));
      })
      .catch(function () { /* no layer: the page as a visitor sees it, not a blank header */ })
      .then(reveal);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupMemberLayer();
    setupSimilar();
    setupTagSuggestions();
  });
})();
