"""What pyproject.toml cannot say about the package's layout: the checkout keeps migrations/
beside app/, and the installed package carries it inside, as app/migrations, so that
`flask db upgrade` finds it from any directory."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        # Namespaces too: templates/ and static/ are data directories inside the package.
        *find_namespace_packages(include=["app", "app.*"], exclude=["*.__pycache__"]),
        "app.migrations",
        "app.migrations.versions",
    ],
    package_dir={"app.migrations": "migrations"},
    py_modules=["config"],
)
