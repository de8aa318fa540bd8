// Form behaviour that templates ask for with data attributes, since the Content Security
// Policy allows no inline handlers: data-confirm="question" on a form asks before it is
// sent; data-autosubmit on a field sends its form when it changes.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
document.addEventListener("change", function (event) {
  if (event.target.hasAttribute && event.target.hasAttribute("data-autosubmit")) {
    event.target.form.submit();
  }
});
