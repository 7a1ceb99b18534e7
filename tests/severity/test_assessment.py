"""Pure tests of severity.assessment (no database).

They run under pytest-django (the project's settings) and with ``-p no:django``: then a
minimal i18n-only configuration is made here, because gettext needs settings and a ready
app registry.
"""

import enum
import itertools
import os

import django
import pytest
from django.apps import apps
from django.conf import settings

if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
    settings.configure(USE_I18N=True, LANGUAGE_CODE="en", INSTALLED_APPS=[])
if not apps.ready:
    django.setup()

from django.db import models
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from severity.assessment import (
    INVALID_CHOICE,
    Assessment,
    Category,
    Contract,
    Impact,
    Reason,
    Scope,
    Severity,
    assess,
    check_override,
    severity_cap,
)

pytestmark = pytest.mark.pure


@pytest.fixture(autouse=True, scope="module")
def _english():
    # Module scope: hypothesis rejects function-scoped fixtures around @given tests.
    with translation.override("en"):
        yield


def _assess(**overrides) -> Assessment:
    """A technical outage for many users at an advanced org with every A duty met."""
    values = {
        "category": "technical",
        "impact": "service_down",
        "scope": "many",
        "contract": "advanced",
        "has_business_impact_statement": True,
        "has_24x7_contact": True,
    }
    values.update(overrides)
    return assess(**values)


def _codes(assessment: Assessment) -> set[str]:
    return {reason.code for reason in assessment.reasons}


def _reason(assessment: Assessment, code: str) -> Reason:
    (reason,) = [reason for reason in assessment.reasons if reason.code == code]
    return reason


# --- The full table, expected values computed by a different rule -------------------------

# Letters ordered least severe first, so the effective severity is the max of the
# ceilings by this order.
LEAST_SEVERE_FIRST = "CBA"


def expected_outcome(impact, scope, category, contract, statement, contact):
    if impact == "minimal":
        base = "C"
    elif impact == "service_down" and scope == "many":
        base = "A"
    else:
        base = "B"
    ceilings = [
        base,
        "A" if category == "technical" else "B",
        "A" if contract == "advanced" else "B",
        "A" if statement and contact else "B",
    ]
    final = min(ceilings, key=LEAST_SEVERE_FIRST.index)
    # Which reasons show: a cap is shown only when it is the first one that binds.
    wanted_a = base == "A"
    technical = category == "technical"
    advanced = contract == "advanced"
    codes = {"matrix", "duty_a" if final == "A" else "target"}
    if wanted_a and not technical:
        codes.add("cap_category")
    if wanted_a and technical and not advanced:
        codes.add("cap_contract")
    if wanted_a and technical and advanced and not statement:
        codes.add("cap_business_impact")
    if wanted_a and technical and advanced and not contact:
        codes.add("cap_24x7_contact")
    return final, base, codes


TABLE = [
    pytest.param(*combo, id="-".join(str(value) for value in combo))
    for combo in itertools.product(
        ["service_down", "degraded", "minimal"],
        ["many", "one"],
        ["technical", "presales", "billing"],
        ["standard", "advanced"],
        [True, False],
        [True, False],
    )
]
assert len(TABLE) == 144


@pytest.mark.parametrize(("impact", "scope", "category", "contract", "statement", "contact"), TABLE)
def test_every_combination(impact, scope, category, contract, statement, contact):
    result = assess(
        category=category,
        impact=impact,
        scope=scope,
        contract=contract,
        has_business_impact_statement=statement,
        has_24x7_contact=contact,
    )
    severity, matrix_severity, codes = expected_outcome(
        impact, scope, category, contract, statement, contact
    )

    assert result.severity == severity
    assert result.matrix_severity == matrix_severity
    assert _codes(result) == codes
    assert result.capped == (severity != matrix_severity)
    assert result.reasons[0].code == "matrix"
    assert result.reasons[-1].code in {"duty_a", "target"}
    for reason in result.reasons:
        assert type(reason.message) is str
        assert reason.message.strip()
        assert "%(" not in reason.message
        assert reason.policy.startswith("POL-")


# --- Named cases ---------------------------------------------------------------------------


def test_a_for_standard_contract_org_is_filed_as_b_with_the_contract_reason_shown():
    result = _assess(contract="standard")

    assert result.matrix_severity is Severity.A
    assert result.severity is Severity.B
    assert result.capped
    reason = _reason(result, "cap_contract")
    assert reason.policy == "POL-SEV-5"
    assert "advanced support agreement" in reason.message
    assert "filed as B" in reason.message


def test_billing_service_down_for_many_is_b_with_the_category_reason():
    result = _assess(category="billing")

    assert (result.matrix_severity, result.severity) == (Severity.A, Severity.B)
    reason = _reason(result, "cap_category")
    assert reason.policy == "POL-SEV-6"
    assert "billing and subscription" in reason.message
    assert "filed as B" in reason.message


def test_presales_service_down_for_many_is_b_with_its_own_category_reason():
    result = _assess(category=Category.PRESALES)

    assert (result.matrix_severity, result.severity) == (Severity.A, Severity.B)
    reason = _reason(result, "cap_category")
    assert reason.policy == "POL-SEV-6"
    assert "pre-sales" in reason.message
    assert "billing" not in reason.message


def test_billing_at_a_standard_org_shows_only_the_first_cap_that_lowers():
    result = _assess(category="billing", contract="standard")

    assert result.severity is Severity.B
    assert _codes(result) == {"matrix", "cap_category", "target"}


def test_a_without_business_impact_statement_is_b():
    result = _assess(has_business_impact_statement=False)

    assert result.severity is Severity.B
    reason = _reason(result, "cap_business_impact")
    assert reason.policy == "POL-SLA-2"
    assert "statement of the business impact" in reason.message
    assert "cap_24x7_contact" not in _codes(result)


def test_a_without_24x7_contact_is_b():
    result = _assess(has_24x7_contact=False)

    assert result.severity is Severity.B
    assert "24 hours a day, 7 days a week" in _reason(result, "cap_24x7_contact").message
    assert "cap_business_impact" not in _codes(result)


def test_a_with_both_duties_missing_gives_both_reasons():
    result = _assess(has_business_impact_statement=False, has_24x7_contact=False)

    assert result.severity is Severity.B
    codes = [reason.code for reason in result.reasons]
    assert codes == ["matrix", "cap_business_impact", "cap_24x7_contact", "target"]


def test_full_a_states_the_duties_and_the_one_hour_target():
    result = _assess()

    assert result.severity is Severity.A
    assert not result.capped
    assert [reason.code for reason in result.reasons] == ["matrix", "duty_a"]
    assert result.reasons[0].policy == "POL-SEV-2"
    duty = result.reasons[-1]
    assert duty.policy == "POL-SLA-2"
    assert "1 hour" in duty.message
    assert "business impact" in duty.message


@pytest.mark.parametrize(
    ("category", "severity", "policy", "fragment"),
    [
        ("technical", "B", "POL-SLA-1", "1 business day (09:00–24:00 Beijing time"),
        ("technical", "C", "POL-SLA-1", "3 business days (09:00–24:00 Beijing time"),
        ("billing", "B", "POL-SLA-4", "1 business day of the billing calendar"),
        ("billing", "C", "POL-SLA-4", "3 business days of the billing calendar"),
        ("presales", "B", "POL-SLA-4", "1 business day (local business hours"),
        ("presales", "C", "POL-SLA-4", "3 business days (local business hours"),
    ],
)
def test_closing_target_follows_severity_and_category(category, severity, policy, fragment):
    impact = "degraded" if severity == "B" else "minimal"
    result = _assess(category=category, impact=impact)

    assert result.severity == severity
    target = result.reasons[-1]
    assert (target.code, target.policy) == ("target", policy)
    assert fragment in target.message


@pytest.mark.parametrize(
    ("impact", "scope", "severity", "fragment"),
    [
        ("service_down", "many", "A", "unavailable for several users or services"),
        ("service_down", "one", "B", "unavailable for one user"),
        ("degraded", "many", "B", "impaired for several users"),
        ("degraded", "one", "B", "impaired for one user"),
        ("minimal", "many", "C", "several users or services are affected"),
        ("minimal", "one", "C", "acceptable workaround"),
    ],
)
def test_each_matrix_cell_has_its_own_sentence(impact, scope, severity, fragment):
    matrix = _assess(impact=impact, scope=scope).reasons[0]

    assert matrix.code == "matrix"
    assert fragment in matrix.message
    assert f"severity {severity} (" in matrix.message


def test_matrix_sentences_are_all_different():
    messages = {
        _assess(impact=impact, scope=scope).reasons[0].message
        for impact, scope in itertools.product(Impact, Scope)
    }
    assert len(messages) == 6


def test_as_text_contains_every_message_in_order():
    result = _assess(
        category="technical",
        contract="advanced",
        has_business_impact_statement=False,
        has_24x7_contact=False,
    )
    text = result.as_text()

    positions = [text.index(reason.message) for reason in result.reasons]
    assert positions == sorted(positions)
    assert len(result.reasons) == 4


# --- Input validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("category", "hardware"),
        ("impact", "catastrophic"),
        ("scope", "all"),
        ("contract", "premium"),
        ("category", "Technical"),
        ("impact", None),
        ("scope", Severity.A),
    ],
)
def test_invalid_choice_raises_value_error_naming_field_and_choices(field, value):
    with pytest.raises(ValueError, match=f"Unknown {field} ") as excinfo:
        _assess(**{field: value})
    assert repr(value) in str(excinfo.value)
    assert "expected one of:" in str(excinfo.value)


def test_invalid_choice_message_lists_the_valid_values():
    with pytest.raises(ValueError) as excinfo:
        _assess(contract="gold")
    expected = INVALID_CHOICE.format(field="contract", value="gold", choices="standard, advanced")
    assert str(excinfo.value) == expected


@pytest.mark.parametrize("field", ["has_business_impact_statement", "has_24x7_contact"])
def test_duty_flags_must_be_booleans(field):
    with pytest.raises(TypeError, match=field):
        _assess(**{field: "false"})


def test_accepts_django_text_choices_with_the_same_values():
    class TicketCategory(models.TextChoices):
        TECHNICAL = "technical", "Technical"
        PRESALES = "presales", "Pre-sales"
        BILLING = "billing", "Billing"

    class PlainImpact(enum.Enum):  # a foreign enum whose names differ from its values
        OUTAGE = "service_down"

    result = _assess(category=TicketCategory.BILLING, impact=PlainImpact.OUTAGE)

    assert result.severity is Severity.B
    assert "cap_category" in _codes(result)


def test_enum_values_are_the_stored_strings():
    assert [member.value for member in Severity] == ["A", "B", "C"]
    assert [member.value for member in Category] == ["technical", "presales", "billing"]
    assert [member.value for member in Impact] == ["service_down", "degraded", "minimal"]
    assert [member.value for member in Scope] == ["many", "one"]
    assert [member.value for member in Contract] == ["standard", "advanced"]


# --- Severity helpers ------------------------------------------------------------------------


def test_severity_lower_chain():
    assert Severity.A.next_lower() is Severity.B
    assert Severity.B.next_lower() is Severity.C
    assert Severity.C.next_lower() is None
    assert Severity.A.lower() == "a"  # str's own method stays str's


def test_severity_higher_chain():
    assert Severity.C.next_higher() is Severity.B
    assert Severity.B.next_higher() is Severity.A
    assert Severity.A.next_higher() is None


def test_severity_rank():
    assert [severity.rank for severity in Severity] == [0, 1, 2]


# --- severity_cap ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "contract", "cap"),
    [
        ("technical", "advanced", "A"),
        ("technical", "standard", "B"),
        ("billing", "advanced", "B"),
        ("billing", "standard", "B"),
        ("presales", "advanced", "B"),
        ("presales", "standard", "B"),
    ],
)
def test_severity_cap_table(category, contract, cap):
    assert severity_cap(category=category, contract=contract) == cap


def test_severity_cap_rejects_unknown_values():
    with pytest.raises(ValueError, match="Unknown category"):
        severity_cap(category="support", contract="advanced")


# --- check_override --------------------------------------------------------------------------


def test_override_to_a_for_standard_org_is_capped_to_b_with_reason():
    result = check_override(requested="A", category="technical", contract="standard")

    assert result.matrix_severity is Severity.A
    assert result.severity is Severity.B
    assert result.capped
    assert [reason.code for reason in result.reasons] == ["override", "cap_contract", "target"]
    assert "advanced support agreement" in _reason(result, "cap_contract").message


def test_override_to_a_for_billing_is_capped_by_category():
    result = check_override(requested=Severity.A, category="billing", contract="advanced")

    assert result.severity is Severity.B
    assert _codes(result) == {"override", "cap_category", "target"}


def test_override_to_c_is_c_without_cap_reasons():
    result = check_override(requested="C", category="technical", contract="standard")

    assert result.severity is Severity.C
    assert not result.capped
    assert _codes(result) == {"override", "target"}
    assert "severity to C" in result.reasons[0].message


def test_override_to_a_needs_no_customer_declarations():
    # The agent has verified the business impact and the 24x7 contact by phone.
    result = check_override(requested="A", category="technical", contract="advanced")

    assert result.severity is Severity.A
    assert [reason.code for reason in result.reasons] == ["override", "duty_a"]


@pytest.mark.parametrize(
    ("requested", "category", "contract"),
    list(itertools.product(Severity, Category, Contract)),
)
def test_override_is_the_requested_severity_capped(requested, category, contract):
    result = check_override(requested=requested, category=category, contract=contract)
    cap = severity_cap(category=category, contract=contract)

    assert result.severity == max(requested, cap, key=lambda severity: severity.rank)


def test_override_rejects_unknown_severity():
    with pytest.raises(ValueError, match="Unknown severity 'D'"):
        check_override(requested="D", category="technical", contract="advanced")


# --- Properties ------------------------------------------------------------------------------


def _choice(enum_type):
    # Members and their raw string values are both valid inputs.
    return st.sampled_from(list(enum_type)) | st.sampled_from([m.value for m in enum_type])


@given(
    category=_choice(Category),
    impact=_choice(Impact),
    scope=_choice(Scope),
    contract=_choice(Contract),
    statement=st.booleans(),
    contact=st.booleans(),
)
def test_caps_only_lower_and_a_needs_everything(
    category, impact, scope, contract, statement, contact
):
    result = assess(
        category=category,
        impact=impact,
        scope=scope,
        contract=contract,
        has_business_impact_statement=statement,
        has_24x7_contact=contact,
    )

    assert result.severity.rank >= result.matrix_severity.rank
    assert result.severity.rank >= severity_cap(category=category, contract=contract).rank
    if result.severity is Severity.A:
        assert category == Category.TECHNICAL
        assert contract == Contract.ADVANCED
        assert statement
        assert contact
    # Every reason between the first and the last explains a lowering.
    assert result.capped == (len(result.reasons) > 2)
