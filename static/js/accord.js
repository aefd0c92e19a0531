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

// Show a radio's conditional panel (data-shown-by="<radio id>") only while that radio is chosen.
// Without this script every panel stays visible and the server ignores the unchosen one.
for (const panel of document.querySelectorAll("[data-shown-by]")) {
  const radio = document.getElementById(panel.dataset.shownBy);
  if (!radio || !radio.form) {
    continue;
  }
  const sync = () => {
    panel.hidden = !radio.checked;
    panel.classList.toggle("govuk-radios__conditional--hidden", !radio.checked);
  };
  for (const other of radio.form.querySelectorAll(`input[type="radio"][name="${radio.name}"]`)) {
    other.addEventListener("change", sync);
  }
  sync();
}
