import sys

from saas_warehouse_cli.main import main

sys.exit(main())
