from openrouter_imagegen.cli import main

main()
