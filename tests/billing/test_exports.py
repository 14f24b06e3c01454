"""Exports of a period: Xero and QuickBooks Online invoice CSVs whose
quantity × unit price is the line's amount to the cent, the JSON with every
line and its sources, the month's time portion by portion, and cells that
cannot run as formulas while money stays a plain number."""

import csv
import io
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from billing.api.finance_serializers import ExportSerializer
from billing.exports import (
    QUICKBOOKS_COLUMNS,
    SOURCE_KEYS,
    XERO_COLUMNS,
    invoice_csv,
    invoice_json,
    safe_text,
    time_entries_csv,
)
from billing.models import EntryPortion
from billing.services.periods import drafts_compute
from billing.views.finance_forms import ExportForm
from clients.models import Contract
from tests.billing.allowance_data import OVERAGE, allowance_crossed
from tests.billing.exports_data import (
    AMOUNTS,
    CLIENT_NAME,
    CONTRACT_NAME,
    TOTAL,
    month_of_work,
    undecided_work,
)
from tests.billing.finance_helpers import contract_of
from tests.factories import MembershipFactory

D = Decimal


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def person(org):
    member = MembershipFactory(organization=org, user__username="dev-export")
    member.user.first_name = "-2"
    member.user.save()
    return member


@pytest.fixture
def month(org, person):
    return month_of_work(org, person)


def export(fn, *args, **kwargs):
    with scopes_disabled():
        return fn(*args, **kwargs)


# --- cells ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text", ["=cmd|' /C calc'!A0", "+1", "-2", "@x", "\tx", "\rx", "=", "-120.00"]
)
def test_text_that_would_start_a_formula_gets_a_leading_apostrophe(text):
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("text", ["Acme", "#12 Mail down", "1+1", "a=b", " =x", ""])
def test_other_text_is_left_alone(text):
    assert safe_text(text) == text


# --- Xero ----------------------------------------------------------------------------------
def test_the_xero_csv_has_the_columns_of_xeros_sales_invoice_import(month):
    text = export(invoice_csv, month.period, "xero")
    header = next(csv.reader(io.StringIO(text)))
    assert header == list(XERO_COLUMNS)
    assert header[:2] == ["*ContactName", "EmailAddress"]
    for required in ("*InvoiceNumber", "*InvoiceDate", "*DueDate", "*Description", "*Quantity",
                     "*UnitAmount", "*AccountCode", "*TaxType"):  # fmt: skip
        assert required in header
    assert "Currency" in header and "TrackingName1" in header and "POAddressLine1" in header


def test_every_xero_row_multiplies_out_to_its_line_amount_to_the_cent(month):
    out = rows(export(invoice_csv, month.period, "xero"))
    products = [D(r["*Quantity"]) * D(r["*UnitAmount"]) for r in out]
    assert products == AMOUNTS
    assert [line.amount for line in month.lines()] == AMOUNTS
    assert sum(products) == TOTAL == month.draft().total


def test_time_that_does_not_multiply_out_goes_as_one_at_the_amount_with_the_hours_said(month):
    out = rows(export(invoice_csv, month.period, "xero"))
    t1 = out[2]
    assert (t1["*Quantity"], t1["*UnitAmount"]) == ("1", "39.58")
    number = month.tickets["t1"].number
    assert t1["*Description"] == f"#{number} Printer offline (0:25 h at 95.00/h)"
    t2 = out[3]
    assert (t2["*Quantity"], t2["*UnitAmount"]) == ("1.5", "95.00")
    assert t2["*Description"] == f"#{month.tickets['t2'].number} Mail down"


def test_zero_priced_lines_are_exported_at_zero_so_the_client_sees_them(month):
    out = rows(export(invoice_csv, month.period, "xero"))
    included, written_off = out[1], out[4]
    assert (included["*Quantity"], included["*UnitAmount"]) == ("1", "0.00")
    assert included["*Description"].endswith("(included)")
    assert (written_off["*Quantity"], written_off["*UnitAmount"]) == ("0.5", "0.00")
    assert written_off["*Description"].startswith("Written off: #")


def test_a_credit_stays_a_plain_negative_number(month):
    text = export(invoice_csv, month.period, "xero")
    credit = rows(text)[5]
    assert (credit["*Quantity"], credit["*UnitAmount"]) == ("1", "-120.00")
    assert credit["*Description"] == "Adjustment: -2 hours billed twice (corrects 2025-08)"
    assert ",1,-120.00," in text and "'-120.00" not in text


def test_the_xero_invoice_names_the_client_its_number_dates_and_codes(month):
    out = rows(export(invoice_csv, month.period, "xero", account_code="4000", tax_type="No VAT"))
    assert len(out) == 6
    first = out[0]
    assert first["*ContactName"] == "'" + CLIENT_NAME
    assert first["*InvoiceNumber"] == f"MS-202509-{month.client.pk}"
    assert (first["*InvoiceDate"], first["*DueDate"]) == ("30/09/2025", "30/10/2025")
    assert first["Reference"] == "2025-09"
    assert {(r["*AccountCode"], r["*TaxType"], r["Currency"]) for r in out} == {
        ("4000", "No VAT", "EUR")
    }
    assert {r["*InvoiceNumber"] for r in out} == {first["*InvoiceNumber"]}


def test_text_cells_of_the_invoice_csv_cannot_run_as_formulas(month):
    out = rows(export(invoice_csv, month.period, "xero"))
    fee = out[0]["*Description"]
    assert fee.startswith("'" + CONTRACT_NAME + ": Fixed fee")
    for row in out:
        for column in ("*ContactName", "*Description", "Reference"):
            value = row[column]
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)


def test_each_currency_is_an_invoice_of_its_own(org, month):
    contract_of(
        org,
        Contract.Kind.FIXED_FEE,
        client=month.client,
        currency="USD",
        name="Hosting",
        fee=D("50.00"),
    )
    with scopes_disabled():
        drafts_compute(organization=org, month=month.period.month, client_ids=[month.client.pk])
    out = rows(export(invoice_csv, month.period, "xero"))
    numbers = {(r["*InvoiceNumber"], r["Currency"]) for r in out}
    base = f"MS-202509-{month.client.pk}"
    assert numbers == {(f"{base}-EUR", "EUR"), (f"{base}-USD", "USD")}
    (hosting,) = [r for r in out if r["Currency"] == "USD"]
    assert (hosting["*Quantity"], hosting["*UnitAmount"]) == ("1", "50.00")


# --- QuickBooks Online ---------------------------------------------------------------------
def test_the_quickbooks_csv_has_the_columns_of_its_invoice_import(month):
    text = export(invoice_csv, month.period, "quickbooks")
    header = next(csv.reader(io.StringIO(text)))
    assert header == list(QUICKBOOKS_COLUMNS)
    for column in ("InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Item(Product/Service)",
                   "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount", "Currency"):  # fmt: skip
        assert column in header


def test_every_quickbooks_row_has_quantity_times_rate_equal_to_its_amount(month):
    out = rows(export(invoice_csv, month.period, "quickbooks"))
    assert [D(r["ItemAmount"]) for r in out] == AMOUNTS
    for r in out:
        assert D(r["ItemQuantity"]) * D(r["ItemRate"]) == D(r["ItemAmount"])
    assert [r["ItemAmount"] for r in out][-1] == "-120.00"
    first = out[0]
    assert first["Customer"] == "'" + CLIENT_NAME
    assert first["InvoiceNo"] == f"MS-202509-{month.client.pk}"
    assert (first["InvoiceDate"], first["DueDate"], first["Terms"]) == (
        "09/30/2025",
        "10/30/2025",
        "Net 30",
    )
    assert [r["Item(Product/Service)"] for r in out] == [
        "Fee", "Included work", "Billable time", "Billable time", "Written off", "Adjustment",
    ]  # fmt: skip


def test_an_unknown_layout_is_refused(month):
    with pytest.raises(ValueError):
        export(invoice_csv, month.period, "sage")


# --- JSON ----------------------------------------------------------------------------------
def test_the_json_export_carries_the_period_client_drafts_lines_and_sources(month):
    body = export(invoice_json, month.period)
    assert set(body) >= {"period", "client", "status", "totals", "drafts", "corrections", "events"}
    assert body["period"]["id"] == month.period.pk and body["period"]["month"] == "2025-09"
    assert body["client"] == {"id": month.client.pk, "name": CLIENT_NAME}
    assert body["status"] == "open" and body["totals"] == {"EUR": "72.08"}
    (draft,) = body["drafts"]
    assert draft["currency"] == "EUR" and draft["total"] == "72.08"
    assert [line["amount"] for line in draft["lines"]] == [f"{a}" for a in AMOUNTS]
    time_line = draft["lines"][2]
    assert time_line["kind"] == "time" and time_line["ticket"] == month.tickets["t1"].pk
    assert (time_line["minutes"], time_line["billed_minutes"]) == (25, 25)
    assert (time_line["quantity"], time_line["unit_price"]) == ("0.4167", "95.0000")
    assert set(time_line["sources"]) == {*SOURCE_KEYS, "portion_minutes"}
    assert time_line["sources"]["portion_minutes"] == {}  # its one portion is on it whole
    assert time_line["sources"]["entries"] == [month.entries["t1"].pk]
    assert "25 min" in time_line["computation"]
    adjustment_line = draft["lines"][5]
    assert adjustment_line["sources"]["adjustments"] == [month.adjustment.pk]
    assert adjustment_line["sources"]["entries"] == []


def test_the_json_of_the_corrected_month_shows_its_corrections(month):
    body = export(invoice_json, month.august)
    (correction,) = body["corrections"]
    assert correction["amount"] == "-120.00" and correction["billed_in"] == "2025-09"
    assert correction["reason"] == "=cmd billed twice in August"
    assert body["drafts"] == [] and body["status"] == "locked"


# --- time entries --------------------------------------------------------------------------
def test_the_time_csv_has_one_row_per_portion_with_the_line_it_is_on(org, person, month):
    _, entry = undecided_work(org, month.client, month.contract, person)
    out = rows(export(time_entries_csv, month.period))
    assert len(out) == 5
    by_entry = {int(r["Entry"]): r for r in out}
    lines = {line.ticket_id: line for line in month.lines() if line.ticket_id}
    for key, e in month.entries.items():
        row = by_entry[e.pk]
        line = lines[month.tickets[key].pk]
        assert int(row["InvoiceLine"]) == line.position
        assert row["LineDescription"] == safe_text(line.description)
        assert row["Minutes"] == str(e.minutes)
        assert row["Ticket"] == str(month.tickets[key].number)
    with scopes_disabled():
        portion = EntryPortion.objects.get(entry=entry)
    waiting = by_entry[entry.pk]
    assert waiting["InvoiceLine"] == "" and waiting["Status"] == "No decision yet"
    assert int(waiting["Portion"]) == portion.pk and waiting["Date"] == "2025-09-10"
    assert by_entry[month.entries["t1"].pk]["Status"] == "Billable"
    assert "Contract" in out[0] and out[0]["Contract"] == "'" + CONTRACT_NAME


def test_text_cells_of_the_time_csv_cannot_run_as_formulas(month):
    out = rows(export(time_entries_csv, month.period))
    notes = {r["Notes"] for r in out}
    assert notes == {"'=cmd|' /C calc'!A0", "'\tindented", "'\rcarriage", "'-2+3"}
    assert {r["Person"] for r in out} == {"'-2"}
    titles = {r["TicketTitle"] for r in out}
    assert "'@SUM(1+1) included" in titles
    assert sorted(int(r["Minutes"]) for r in out) == [25, 30, 60, 90]


# --- a portion split between lines ---------------------------------------------------------
def test_a_portion_across_the_allowance_names_its_minutes_on_each_line(org, person):
    crossed = allowance_crossed(org, person)
    first, second = crossed.first_portion.pk, crossed.second_portion.pk
    assert (crossed.included.minutes, crossed.overage.minutes) == (60, 70)
    assert crossed.overage.amount == OVERAGE  # 70 min × 150.00/h
    assert crossed.included.sources["portions"] == sorted([first, second])
    # Only the split portion is named, with its minutes on each line.
    assert crossed.included.sources["portion_minutes"] == {str(second): 30}
    assert crossed.overage.sources["portion_minutes"] == {str(second): 70}
    assert crossed.overage.sources["portions"] == [second]
    body = export(invoice_json, crossed.period)
    by_kind = {line["kind"]: line for line in body["drafts"][0]["lines"]}
    assert by_kind["overage"]["sources"]["portion_minutes"] == {str(second): 70}


def test_the_time_csv_gives_a_split_portion_a_row_per_line_with_its_minutes(org, person):
    crossed = allowance_crossed(org, person)
    out = rows(export(time_entries_csv, crossed.period))
    second = [r for r in out if int(r["Portion"]) == crossed.second_portion.pk]
    assert [(int(r["Minutes"]), int(r["InvoiceLine"])) for r in second] == [
        (30, crossed.included.position),
        (70, crossed.overage.position),
    ]
    assert all(r["Entry"] == str(crossed.second.pk) for r in second)
    # The rows add up to the month's minutes, and each line's to the line's.
    assert sum(int(r["Minutes"]) for r in out) == 130
    for line in (crossed.included, crossed.overage):
        on_line = [int(r["Minutes"]) for r in out if r["InvoiceLine"] == str(line.position)]
        assert sum(on_line) == line.minutes


def test_the_period_page_and_the_api_take_the_same_export_formats():
    page = dict(ExportForm.base_fields["format"].choices)
    api = dict(ExportSerializer().fields["format"].choices)
    assert page == api and set(page) == {"xero", "quickbooks", "json", "entries"}
