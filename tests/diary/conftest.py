from tests.diary.signing import casebook, device, milestones  # noqa: F401 - fixtures
