import sys

from stx_tf.cli import main

sys.exit(main())
