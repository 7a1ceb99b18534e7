"""Demo canned replies (``tickets.Macro``) in English and Polish, with the placeholders
``tickets.macros`` fills for the request at hand."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DemoMacro:
    language: str
    name: str
    body: str
    position: int


MACROS: tuple[DemoMacro, ...] = (
    DemoMacro(
        "en",
        "Acknowledge",
        "Hello {requester_name},\n\nthank you for request {reference}. We are looking into "
        "it and will answer by {due_time} at the latest.\n\nKind regards,\n{agent_name}",
        10,
    ),
    DemoMacro(
        "en",
        "Ask for affected users",
        "Hello {requester_name},\n\nto narrow down {reference}, could you tell us which "
        "users or mailboxes are affected, and since when?\n\nThank you,\n{agent_name}",
        20,
    ),
    DemoMacro(
        "en",
        "Ask for a screenshot",
        "Hello {requester_name},\n\ncould you attach a screenshot of the error message and "
        "the time it appeared? That lets us find it in the logs.\n\nThank you,\n{agent_name}",
        30,
    ),
    DemoMacro(
        "en",
        "Fixed, please confirm",
        "Hello {requester_name},\n\nwe have fixed the cause of {reference} "
        "(\u201c{title}\u201d). Could you confirm it works for you now? If we hear nothing, "
        "we will close the request.\n\nKind regards,\n{agent_name}",
        40,
    ),
    DemoMacro(
        "pl",
        "Potwierdzenie",
        "Dzień dobry {requester_name},\n\ndziękujemy za zgłoszenie {reference}. Zajmujemy "
        "się nim i odpowiemy najpóźniej {due_time}.\n\nPozdrawiam,\n{agent_name}",
        10,
    ),
    DemoMacro(
        "pl",
        "Prośba o listę użytkowników",
        "Dzień dobry {requester_name},\n\naby zawęzić zgłoszenie {reference}, prosimy o "
        "informację, których użytkowników lub skrzynek dotyczy problem i od kiedy.\n\n"
        "Dziękuję,\n{agent_name}",
        20,
    ),
    DemoMacro(
        "pl",
        "Prośba o zrzut ekranu",
        "Dzień dobry {requester_name},\n\nprosimy o zrzut ekranu komunikatu o błędzie wraz z "
        "godziną jego wystąpienia — pozwoli nam to odnaleźć go w logach.\n\nDziękuję,\n"
        "{agent_name}",
        30,
    ),
    DemoMacro(
        "pl",
        "Naprawione, prośba o potwierdzenie",
        "Dzień dobry {requester_name},\n\nusunęliśmy przyczynę zgłoszenia {reference} "
        "(\u201e{title}\u201d). Prosimy o potwierdzenie, że wszystko działa. Jeśli nie "
        "otrzymamy odpowiedzi, zamkniemy zgłoszenie.\n\nPozdrawiam,\n{agent_name}",
        40,
    ),
)
