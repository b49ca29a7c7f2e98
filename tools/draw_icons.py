"""Draws the home-screen icons of the installable diary (web app manifest) with Pillow.

    .venv/bin/python tools/draw_icons.py

writes diary/static/diary/icons/icon-{192,512}.png and maskable-512.png. The PNGs are committed;
run this again only to change the design. A plain calendar page with a tick: no name of a
condition or a drug, so the icon on a home screen says nothing about her health.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "diary" / "static" / "diary" / "icons"
BLUE = (13, 110, 253)  # Bootstrap's primary, as the diary's buttons
WHITE = (255, 255, 255)


def draw(size: int, *, maskable: bool) -> Image.Image:
    image = Image.new("RGB", (size, size), BLUE)
    pen = ImageDraw.Draw(image)
    # A maskable icon keeps its drawing inside the central 80 % (the platform crops a circle).
    margin = size * (0.26 if maskable else 0.18)
    left, top, right, bottom = margin, margin * 1.1, size - margin, size - margin * 0.9
    radius = size * 0.05
    pen.rounded_rectangle((left, top, right, bottom), radius=radius, fill=WHITE)
    band = top + (bottom - top) * 0.22
    pen.rounded_rectangle((left, top, right, band), radius=radius, fill=(222, 226, 230))
    ring = size * 0.025
    for x in (left + (right - left) * 0.28, left + (right - left) * 0.72):
        pen.rounded_rectangle((x - ring, top - ring * 2.5, x + ring, top + ring * 2.5), ring, BLUE)
    width = max(2, round(size * 0.055))
    tick = [
        (left + (right - left) * 0.26, band + (bottom - band) * 0.52),
        (left + (right - left) * 0.44, band + (bottom - band) * 0.72),
        (left + (right - left) * 0.76, band + (bottom - band) * 0.3),
    ]
    pen.line(tick, fill=BLUE, width=width, joint="curve")
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
    draw(512, maskable=True).save(OUT / "maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
