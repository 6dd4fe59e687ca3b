from lenet_ablate.cli import main

main()
