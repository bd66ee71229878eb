from tether.supervision.cli import main

main()
