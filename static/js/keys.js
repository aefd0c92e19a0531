// The security page: once a new key is registered, show it in the list (and its name form).
document.addEventListener("otp_webauthn.register_complete", () => window.location.reload());
