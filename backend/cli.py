"""The ``carnet`` command: migrate, seed demo data, import registries, manage secrets, serve."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from backend.core.settings import ConfigurationError, data_dir_from, load_settings, provision_master_key


async def _with_db(settings, work):
    from backend.core import database

    engine = database.configure_engine(settings.database_url)
    await database.start(engine)
    try:
        return await work()
    finally:
        await database.stop(engine)


def _import(kind: str, path: str, settings) -> int:
    from backend.accounts.services import open_pro_account
    from backend.identity.registry import import_registry, parse_rows
    from backend.professionals.directory import import_directory

    body = Path(path).read_bytes()
    rows = parse_rows(body, "application/json" if path.endswith(".json") else "text/csv")
    if kind == "registry":
        results = asyncio.run(_with_db(settings, lambda: import_registry(settings, rows)))
    else:
        results = asyncio.run(_with_db(settings, lambda: import_directory(settings, rows, open_pro_account)))
    import msgspec

    print(json.dumps([msgspec.structs.asdict(r) for r in results], ensure_ascii=False, indent=1))
    return 1 if any(r.status == "rejected" for r in results) else 0


async def _cleanup(settings, delete: bool) -> int:
    from backend.documents.services import blob_store, orphan_blobs

    orphans = await orphan_blobs(settings)
    removed_temp = await blob_store(settings).cleanup_temp() if delete else 0
    for blob_id in orphans:
        print(blob_id)
        if delete:
            await blob_store(settings).delete(blob_id)
    print(f"{len(orphans)} unreferenced blob(s){' deleted' if delete else ''}, "
          f"{removed_temp} temporary file(s) removed", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carnet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("secrets-init", help="generate the secrets file in the data directory")
    p.add_argument("--master-key-file", help="keep the master key in this file, outside the data directory "
                   "(created, or moved out of secrets.json); then start with CARNET_MASTER_KEY_FILE "
                   "set to it")
    sub.add_parser("migrate", help="apply pending migrations")
    sub.add_parser("seed-demo", help="seed the demo world (once; refused in production)")
    sub.add_parser("demo-accounts", help="print the demo logins")
    for name in ("registry", "directory"):
        p = sub.add_parser(f"import-{name}", help=f"import the {name} from CSV or JSON")
        p.add_argument("file")
    sub.add_parser("verify-audit", help="verify the hash chain of the access history")
    p = sub.add_parser("documents-cleanup", help="list (or --delete) blobs no document references")
    p.add_argument("--delete", action="store_true")
    p = sub.add_parser("import-documents", help="operator import: a JSON list of documents to feed")
    p.add_argument("file")
    sub.add_parser("serve", help="serve the API and the PWA")
    args = parser.parse_args(argv)

    key_note = ""
    try:
        if args.command == "secrets-init" and args.master_key_file:
            key_file = Path(args.master_key_file).resolve()
            done = provision_master_key(data_dir_from(os.environ), key_file)
            os.environ["CARNET_MASTER_KEY_FILE"] = str(key_file)
            key_note = f"; master key {done} in {key_file}: start with CARNET_MASTER_KEY_FILE={key_file}"
        settings = load_settings(create_secrets=True if args.command == "secrets-init" else None)
    except ConfigurationError as exc:
        print(f"carnet: {exc}", file=sys.stderr)
        return 2

    if args.command == "secrets-init":
        print(f"secrets ready in {settings.data_dir}{key_note}")
    elif args.command == "migrate":
        from backend.core import database

        asyncio.run(_with_db(settings, database.migrate))
    elif args.command == "seed-demo":
        from backend import demo

        try:
            created = asyncio.run(_with_db(settings, lambda: demo.seed(settings)))
        except ConfigurationError as exc:
            print(f"carnet: {exc}", file=sys.stderr)
            return 2
        print("demo data seeded" if created else "demo data already present")
    elif args.command == "demo-accounts":
        from backend import demo

        print(demo.summary())
    elif args.command in ("import-registry", "import-directory"):
        return _import(args.command.removeprefix("import-"), args.file, settings)
    elif args.command == "verify-audit":
        from backend.access.history import verify_chain

        count, broken = asyncio.run(_with_db(settings, verify_chain))
        if broken is not None:
            print(f"access history: BROKEN at event {broken['id']} (person {broken['person']}, "
                  f"{broken['created_at']}), after {count - 1} valid events")
            return 1
        print(f"access history: {count} events, chain intact")
    elif args.command == "documents-cleanup":
        return asyncio.run(_with_db(settings, lambda: _cleanup(settings, args.delete)))
    elif args.command == "import-documents":
        from backend.documents.operator import import_documents

        report = asyncio.run(_with_db(settings, lambda: import_documents(settings, Path(args.file))))
        print(json.dumps(report, ensure_ascii=False, indent=1, default=str))
        return 1 if any(r["status"] == "rejected" for r in report) else 0
    elif args.command == "serve":
        import uvicorn

        if settings.workers > 1 and settings.is_sqlite:
            # SQLite has a single writer, and live updates live in one process's memory.
            print("carnet: CARNET_WORKERS > 1 needs PostgreSQL (CARNET_DATABASE_URL=postgresql://...); "
                  "on SQLite, serve with CARNET_WORKERS=1", file=sys.stderr)
            return 2
        options = {"host": settings.host, "port": settings.port, "proxy_headers": True,
                   "server_header": False, "log_level": "info"}
        if settings.workers > 1:  # each process builds its own app from the same environment
            uvicorn.run("backend.app:create_app", factory=True, workers=settings.workers, **options)
        else:
            from backend.app import create_app

            uvicorn.run(create_app(settings), **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
