// The security page: once django-otp-webauthn's script has registered a passkey, show
// the page again so the new passkey is listed (the library leaves the page as it is).
document.addEventListener("otp_webauthn.register_complete", () => {
  window.location.reload();
});
