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
