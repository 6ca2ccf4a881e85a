"""The check-in code comes with its QR drawn on the server, so the secretary's phone can show it full screen."""
import base64
import struct
import zlib

import segno


def _png_modules(data_uri, scale=10, border=2):
    """Decode the 1-bit greyscale PNG the server draws into rows of dark (True) / light modules."""
    assert data_uri.startswith("data:image/png;base64,")
    png = base64.b64decode(data_uri.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        chunks.setdefault(kind, b"")
        chunks[kind] += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (1, 0)
    raw, stride = zlib.decompress(chunks[b"IDAT"]), (width + 7) // 8 + 1
    rows, previous = [], bytes(stride - 1)
    for y in range(height):
        kind, line = raw[y * stride], raw[y * stride + 1:(y + 1) * stride]
        assert kind in (0, 2)  # none, or "up" (add the row above): the two filters the writer uses
        previous = line if kind == 0 else bytes((a + b) & 0xFF for a, b in zip(line, previous))
        rows.append(previous)
    pixel = lambda x, y: not (rows[y][x // 8] >> (7 - x % 8)) & 1  # noqa: E731  (0 bits are dark)
    size = width // scale - 2 * border
    return [[pixel((border + c) * scale + scale // 2, (border + r) * scale + scale // 2) for c in range(size)]
            for r in range(size)]


def test_the_check_in_code_carries_a_qr_image_of_its_payload(client, login, org, frozen, make_exchange):
    frozen("2026-11-23 08:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a])
    response = client.get(f"/api/v1/exchanges/{exchange['id']}/check-in-code", headers=login(org.secretary_a))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["qr_payload"] == f"bs-checkin:{exchange['id']}:{body['code']}"
    expected = [[bool(v) for v in row] for row in segno.make(body["qr_payload"], error="m").matrix]
    assert _png_modules(body["qr_image"]) == expected

    other = make_exchange(org.secretary_a, speakers=[org.member_a], title="第二场交流")
    other_image = client.get(f"/api/v1/exchanges/{other['id']}/check-in-code",
                             headers=login(org.secretary_a)).get_json()["qr_image"]
    assert _png_modules(other_image) != expected
    assert client.get(f"/api/v1/exchanges/{exchange['id']}/check-in-code",
                      headers=login(org.member_a)).status_code == 403
