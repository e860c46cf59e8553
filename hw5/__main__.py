from hw5.cli import main
import sys
sys.exit(main())
