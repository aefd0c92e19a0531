// Small enhancements for every page. Loaded as a module from static/ (strict CSP: no inline code).

// Move focus to an error summary so keyboard and screen-reader users hear what went wrong first.
const summary = document.querySelector("[data-autofocus]");
if (summary) {
  summary.focus();
}

// Ask before a destructive action (withdraw, revoke, terminate) on buttons that carry data-confirm.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
