import sys

from course.instructor.cli import main

sys.exit(main())
