"""Placeholder replaced below."""


def main() -> None:
    print("leadflow")
