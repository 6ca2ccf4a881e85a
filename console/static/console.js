// 支部学习工作台: a little progressive enhancement; every page works without it.
document.addEventListener("submit", function (event) {
  var button = event.submitter || event.target.querySelector("[data-confirm]");
  var message = button && button.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
    return;
  }
  if (button) {
    // One click, one request: a double click on a slow network must not submit twice.
    window.setTimeout(function () { button.disabled = true; }, 0);
  }
});

// Live figures (the projector's count, an open quiz's participation) refresh every few seconds; the projector's
// button asks for full screen.
document.addEventListener("DOMContentLoaded", function () {
  // Elements with data-poll show one field (data-key, default "count") of the JSON that URL answers.
  var polled = Array.prototype.filter.call(document.querySelectorAll("[data-poll]"), function (el) {
    return el.getAttribute("data-poll");
  });
  polled.forEach(function (el) {
    window.setInterval(function () {
      fetch(el.getAttribute("data-poll"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          var value = data && data[el.getAttribute("data-key") || "count"];
          if (value !== undefined && value !== null) { el.textContent = value; }
        })
        .catch(function () { /* a missed poll is retried on the next tick */ });
    }, 3000);
  });
  var full = document.getElementById("fullscreen");
  if (full && document.documentElement.requestFullscreen) {
    full.addEventListener("click", function () { document.documentElement.requestFullscreen(); full.hidden = true; });
  }
});
