"""Masking of personal fields and grouping of quarantine reasons."""
from workflows.masking import mask, reason_class


def test_personal_fields_are_masked_at_any_depth():
    record = {"id": 3, "email": "john.doe@example.com", "name": {"firstname": "john", "lastname": "doe"},
              "address": {"city": "kilcoole", "geolocation": {"lat": "-37.3", "long": "81.1"}},
              "phone": "1-570-236-7033", "ip_address": "10.1.2.3", "price": 9.5}
    masked = mask(record)
    assert masked["id"] == 3 and masked["price"] == 9.5
    assert masked["email"] == "j***@e***"
    assert masked["name"] == {"firstname": "j***", "lastname": "d***"}
    assert masked["address"] == {"city": "k***", "geolocation": {"lat": "-***", "long": "8***"}}
    assert masked["phone"] == "1***" and masked["ip_address"] == "1***"
    assert "john" not in str(masked) and "kilcoole" not in str(masked)
    hr = mask({"businessentityid": 7, "nationalidnumber": "295847284", "loginid": "adventure-works\\ken0",
               "birthdate": "1969-01-29", "middlename": "J", "customer_name": "Ken J Sanchez"})
    assert hr == {"businessentityid": 7, "nationalidnumber": "2***", "loginid": "a***", "birthdate": "1***",
                  "middlename": "J***", "customer_name": "K***"}


def test_reason_class_blanks_values():
    assert reason_class("$.price: 'N/A' is not of type 'number'") == "$.price: … is not of type 'number'"
    assert reason_class("$: 'email' is a required property") == "$: 'email' is a required property"
    assert reason_class("duplicate cart_id, product_id = (2515001, 3)") == "duplicate cart_id, product_id = (#, #)"
    assert reason_class("$.price: -1.5 is less than the minimum of 0") == "$.price: # is less than the minimum of #"
