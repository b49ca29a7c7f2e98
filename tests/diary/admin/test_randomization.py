"""Allocation list upload and generation pages: the statistician's only; blinded staff get
neither page nor menu entry."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from diary.models import AllocationList, AllocationSlot
from tests.conftest import make_participant, make_staff

pytestmark = pytest.mark.django_db

LIST = "/admin/diary/allocationlist/"
UPLOAD = "/admin/diary/allocationlist/upload/"
GENERATE = "/admin/diary/allocationlist/generate/"
EVENTS = "/admin/pghistory/events/"


def upload(client, world, content: bytes):
    return client.post(
        UPLOAD,
        {"study": world.study.pk, "file": SimpleUploadedFile("list.csv", content, "text/csv")},
    )


def test_statistician_uploads_a_list(client, world):
    client.force_login(world.statistician)
    response = upload(client, world, b"slot,sequence,stratum\n1,AP,S01\n2,PA,S01\n1,PA,S02\n")
    allocation_list = AllocationList.objects.get()
    assert response.status_code == 302
    assert response.url.endswith(f"/admin/diary/allocationlist/{allocation_list.pk}/change/")
    page = client.get(response.url).content.decode()
    assert allocation_list.source_sha256 in page
    assert page.count('<td class="field-sequence">') == 3


def test_upload_errors_are_listed_by_line(client, world):
    client.force_login(world.statistician)
    page = upload(client, world, b"slot,sequence\n1,AP\n2,XY\n2,PA\n").content.decode()
    assert "line 3: unknown sequence &#x27;XY&#x27;" in page
    assert "line 4: slot 2 repeats line 3" in page
    assert not AllocationList.objects.exists()


def test_statistician_generates_a_list_with_a_recorded_seed(client, world):
    client.force_login(world.statistician)
    response = client.post(
        GENERATE,
        {
            "study": world.study.pk,
            "block_sizes": "2,4",
            "slots_per_stratum": "10",
            "stratify_by_site": "on",
            "seed": "4242",
        },
    )
    assert response.status_code == 302
    allocation_list = AllocationList.objects.get()
    assert (allocation_list.seed, allocation_list.block_sizes) == (4242, [2, 4])
    assert set(allocation_list.slots.values_list("stratum", flat=True)) == {"S01", "S02"}


def test_bad_block_sizes_are_explained(client, world):
    client.force_login(world.statistician)
    page = client.post(
        GENERATE,
        {"study": world.study.pk, "block_sizes": "3", "slots_per_stratum": "10"},
    ).content.decode()
    assert "block size 3 is not a positive multiple of the 2 sequences" in page


def test_the_list_page_counts_slots_and_waiting_participants(client, world):
    client.force_login(world.statistician)
    upload(client, world, b"slot,sequence\n1,AP\n2,PA\n3,AP\n")
    make_participant(world.study, world.site1, "S01-009")
    page = client.get(LIST).content.decode()
    assert '<td class="field-slots">3</td>' in page
    assert '<td class="field-used">1</td>' in page


def test_the_statistician_randomizes_a_waiting_participant(client, world):
    participant = make_participant(world.study, world.site1, "S01-009")
    client.force_login(world.statistician)
    upload(client, world, b"slot,sequence\n1,PA\n")
    client.post(
        "/admin/diary/participant/",
        {"action": "randomize", "_selected_action": [participant.pk]},
    )
    assert AllocationSlot.objects.get(slot_number=1).participant == participant


@pytest.mark.parametrize("who", ["coordinator1", "monitor", "admin", "outsider", "root"])
def test_blinded_staff_get_no_list_page_no_menu_and_no_row_history(client, world, who):
    user = make_staff("root", superuser=True) if who == "root" else getattr(world, who)
    client.force_login(user)
    # Django's own list pages and the list's custom pages alike do not exist for them.
    for url in (LIST, EVENTS):
        assert client.get(url).status_code == 404, url
    for url in (UPLOAD, GENERATE):
        assert client.get(url).status_code == 404, url
    assert upload(client, world, b"slot,sequence\n1,AP\n").status_code == 404
    assert not AllocationList.objects.exists()
    index = client.get("/admin/").content.decode()
    assert "Allocation" not in index and "Events" not in index


def test_the_statistician_sees_the_menu_entries(client, world):
    client.force_login(world.statistician)
    index = client.get("/admin/").content.decode()
    assert "Allocation lists" in index and "Allocations" in index
    assert client.get(EVENTS).status_code == 200
