from aoai_mock.cli import main

raise SystemExit(main())
