// After django-otp-webauthn's script registers a key, go on to the page the server named
// (the key list, or the dashboard after a first enrolment). No inline script: CSP forbids it.
document.addEventListener("otp_webauthn.register_complete", function () {
  var flow = document.getElementById("key-flow");
  window.location.assign((flow && flow.dataset.afterRegister) || window.location.pathname);
});
